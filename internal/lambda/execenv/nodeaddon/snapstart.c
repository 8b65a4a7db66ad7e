// SnapStart for Node.js: a Node-API addon that turns an initialised node
// process into a snapshot that forks, the way bootstrap.py's
// _serve_snapshot does for Python. nephele compiles it on first use
// (../snapstart_node.go) against the headers of the node that runs it.
//
// Node has no fork of its own, and two things stand in the way of one:
//  - node marks V8's heap MADV_DONTFORK (it makes child_process.spawn
//    cheaper), so a plain fork(2) gives a child without a heap. Every
//    mapping is marked MADV_DOFORK again just before each fork.
//  - only the forking thread exists in the child. The snapshot runs node
//    with V8's --single-threaded, so V8 posts no work to the platform's
//    worker threads; libuv's loop is re-armed with uv_loop_fork (its
//    thread pool resets itself at fork). A child never returns through
//    node's normal exit, which joins the (absent) platform threads: it
//    leaves with _exit, through exit() below.
//
// The control protocol on the unix socket is bootstrap.py's, with one more
// line: from the snapshot "init" (the init phase has ended) then "ready"
// (a first spare is ready), or "initerror JSON"; then "pid TOKEN PID" per
// restore and "exit PID CODE" as children end; from nephele "fork TOKEN
// JSON" with the new environment's output pipe passed as a descriptor.
//
// A restore is handed to a spare forked ahead, so that it does not wait
// for fork(2), which copies the page tables of a large heap. The spare
// rehearses the restore's path while it waits: in a fork every page is
// copied on its first write, and on a virtual machine each such fault is
// costly; done ahead, those copies are out of the restore's way.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static int wake_w = -1; // the write end of the SIGCHLD self-pipe

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  char c = 0;
  if (write(wake_w, &c, 1) < 0) {
    // The pipe is full: a wake-up is already pending.
  }
  errno = saved;
}

// allow_fork undoes node's MADV_DONTFORK on every mapping.
static void allow_fork(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (f == NULL) return;
  char line[4096];
  unsigned long lo, hi;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) madvise((void *)lo, hi - lo, MADV_DOFORK);
    // A line longer than the buffer continues on the next read; its tail
    // does not parse as a range.
  }
  fclose(f);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// send_with_fd writes msg on sock, the descriptor fd riding on its first
// bytes.
static int send_with_fd(int sock, const char *msg, size_t n, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = n};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t w;
  do {
    w = sendmsg(sock, &mh, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  if (w < 0) return -1;
  return write_all(sock, msg + w, n - (size_t)w);
}

// buffer is a growable byte buffer with the descriptors that came with it.
struct buffer {
  char *data;
  size_t len, cap;
  int fds[64];
  int nfds;
};

// recv_some appends what one recvmsg gives; 0 at end of stream.
static ssize_t recv_some(int sock, struct buffer *b) {
  if (b->cap - b->len < 65536) {
    size_t cap = b->cap * 2 + 65536;
    char *d = realloc(b->data, cap);
    if (d == NULL) return -1;
    b->data = d;
    b->cap = cap;
  }
  char ctl[CMSG_SPACE(sizeof(int) * 8)];
  struct iovec iov = {.iov_base = b->data + b->len, .iov_len = b->cap - b->len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  ssize_t r;
  do {
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return r;
  b->len += (size_t)r;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int *fds = (int *)CMSG_DATA(c);
    for (int i = 0; i < n; i++) {
      if (b->nfds < (int)(sizeof b->fds / sizeof b->fds[0])) b->fds[b->nfds++] = fds[i];
      else close(fds[i]);
    }
  }
  return r;
}

// take_line removes the first line from b into a new string, without its
// newline; NULL when there is no whole line yet.
static char *take_line(struct buffer *b) {
  char *nl = memchr(b->data, '\n', b->len);
  if (nl == NULL) return NULL;
  size_t n = (size_t)(nl - b->data);
  char *line = malloc(n + 1);
  if (line == NULL) return NULL;
  memcpy(line, b->data, n);
  line[n] = 0;
  b->len -= n + 1;
  memmove(b->data, nl + 1, b->len);
  return line;
}

static int take_fd(struct buffer *b) {
  if (b->nfds == 0) return -1;
  int fd = b->fds[0];
  memmove(b->fds, b->fds + 1, sizeof(int) * (size_t)(b->nfds - 1));
  b->nfds--;
  return fd;
}

// spare_delay_ms is how long after a restore the next spare is forked:
// fork(2) of a large heap takes a core for milliseconds and write-protects
// the pages the restored child shares with the snapshot, so forking at
// once would slow the very restore it follows. A request that finds no
// spare forks one on the spot.
enum { spare_delay_ms = 100 };

struct spare {
  pid_t pid;
  int sock; // to the spare; -1 when there is none
};

// The snapshot's descriptors, all of which a spare closes: what nephele
// sends (with environments' output pipes not yet handed on) and the
// output pipe being handed on.
static int ctl_fd = -1, wake_r = -1;
static struct buffer in;
static int handing = -1;
static struct sigaction old_chld;

static int spare_sock = -1; // in a spare: its end of the socket to the snapshot

// spawn forks a spare. In the snapshot it fills s and returns 0; in the
// spare it returns 1, the spare's socket in spare_sock; -1 on failure.
static int spawn(napi_env env, struct spare *s) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  allow_fork();
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  if (pid > 0) {
    close(sv[1]);
    s->pid = pid;
    s->sock = sv[0];
    return 0;
  }
  // The spare.
  sigaction(SIGCHLD, &old_chld, NULL);
  close(sv[0]);
  close(ctl_fd);
  close(wake_r);
  close(wake_w);
  if (handing >= 0) close(handing);
  while (in.nfds > 0) close(take_fd(&in));
  setsid();
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) == napi_ok && loop != NULL) uv_loop_fork(loop);
  spare_sock = sv[1];
  return 1;
}

static double spare_due; // when to fork the next spare, after a restore

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// answer tells nephele how a fork request went: "pid TOKEN PID" or
// "fail TOKEN".
static void answer(const char *fmt, const char *token, long pid) {
  char msg[160];
  int n = snprintf(msg, sizeof msg, fmt, token, pid);
  if (n > 0 && (size_t)n < sizeof msg && write_all(ctl_fd, msg, (size_t)n) < 0) _exit(0); // nephele closed the snapshot
}

static void report(const char *fmt, long a, long b) {
  char msg[96];
  int n = snprintf(msg, sizeof msg, fmt, a, b);
  if (write_all(ctl_fd, msg, (size_t)n) < 0) _exit(0); // nephele closed the snapshot
}

static void reap(void) {
  char drain[256];
  while (read(wake_r, drain, sizeof drain) > 0) {
  }
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
    report("exit %ld %ld\n", pid, code);
  }
}

// connect(socketPath, initError) opens the control channel once init has
// ended and says how it went: "init" (the init phase's end, so that its
// duration leaves out what the snapshot does next), or "initerror JSON",
// after which it waits for nephele to close the channel and exits: an
// init that failed forks nothing, nephele answers with its error.
static napi_value Connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_error(env, NULL, "connect(socketPath, initError)");
    return NULL;
  }
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok) {
    napi_throw_error(env, NULL, "connect: the socket path is not a string");
    return NULL;
  }
  ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path, n + 1);
  if (ctl_fd < 0 || connect(ctl_fd, (struct sockaddr *)&addr, sizeof addr) < 0) _exit(1);
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_string) {
    if (write_all(ctl_fd, "init\n", 5) < 0) _exit(0);
    return NULL;
  }
  size_t errlen = 0;
  napi_get_value_string_utf8(env, argv[1], NULL, 0, &errlen);
  char *initerr = malloc(errlen + 1);
  if (initerr == NULL) _exit(1);
  napi_get_value_string_utf8(env, argv[1], initerr, errlen + 1, &n);
  if (write_all(ctl_fd, "initerror ", 10) < 0 || write_all(ctl_fd, initerr, errlen) < 0 || write_all(ctl_fd, "\n", 1) < 0)
    _exit(0);
  char c;
  while (read(ctl_fd, &c, 1) > 0) {
  }
  _exit(0);
}

// await_first waits (a bounded time) for the first spare to have readied
// itself, so that the first restore does not wait for that.
static void await_first(const struct spare *s) {
  struct pollfd fd = {.fd = s->sock, .events = POLLIN};
  if (poll(&fd, 1, 5000) > 0 && (fd.revents & POLLIN)) {
    char c;
    if (read(s->sock, &c, 1) < 0) {
      // The spare died; a request will fork another.
    }
  }
}

// serve() runs the snapshot, after connect. It forks a first spare and
// says "ready" once that spare is, then serves restores. It returns only
// in a spare, which then readies itself and calls wait().
static napi_value Serve(napi_env env, napi_callback_info info) {
  (void)info;
  if (ctl_fd < 0) {
    napi_throw_error(env, NULL, "serve: connect first");
    return NULL;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) _exit(1);
  wake_r = p[0];
  wake_w = p[1];
  struct sigaction sa = {0};
  sa.sa_handler = on_child;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, &old_chld);

  struct spare spare = {.pid = -1, .sock = -1};
  int r = spawn(env, &spare);
  if (r == 1) goto spare;
  if (r == 0) await_first(&spare);
  if (write_all(ctl_fd, "ready\n", 6) < 0) _exit(0);
  while (r == 0 || r == -1) {
    struct pollfd fds[2] = {{.fd = ctl_fd, .events = POLLIN}, {.fd = wake_r, .events = POLLIN}};
    int wait = -1;
    if (spare.sock < 0) wait = spare_due > now_ms() ? (int)(spare_due - now_ms()) + 1 : 0;
    int ready = poll(fds, 2, wait);
    if (ready < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (ready == 0) {
      r = spawn(env, &spare);
      if (r == 1) goto spare;
      continue;
    }
    if (fds[1].revents) reap();
    if (!fds[0].revents) continue;
    ssize_t got = recv_some(ctl_fd, &in);
    if (got <= 0) _exit(0); // nephele closed the snapshot
    char *line;
    while ((line = take_line(&in)) != NULL) {
      // "fork TOKEN JSON"
      char *token = strchr(line, ' ');
      char *json = token ? strchr(token + 1, ' ') : NULL;
      int out = take_fd(&in);
      if (json == NULL || out < 0) {
        if (token != NULL) {
          if (json != NULL) *json = 0;
          answer("fail %s\n", token + 1, 0);
        }
        free(line);
        if (out >= 0) close(out);
        continue;
      }
      handing = out;
      *json++ = 0;
      token++;
      size_t jlen = strlen(json);
      json[jlen] = '\n'; // the terminating 0 becomes the message's newline
      pid_t pid = -1;
      for (int attempt = 0; attempt < 2 && pid < 0; attempt++) {
        if (spare.sock < 0) {
          r = spawn(env, &spare);
          if (r == 1) {
            free(line);
            goto spare;
          }
          if (r < 0) break;
        }
        if (send_with_fd(spare.sock, json, jlen + 1, out) == 0) pid = spare.pid;
        close(spare.sock); // that spare died if the send failed; fork another
        spare.sock = -1;
      }
      close(out);
      handing = -1;
      json[jlen] = 0;
      spare_due = now_ms() + spare_delay_ms;
      // Every request is answered: nephele waits for it.
      if (pid > 0) answer("pid %s %ld\n", token, pid);
      else answer("fail %s\n", token, 0);
      free(line);
    }
  }
spare:
  free(in.data);
  in.data = NULL;
  in.len = in.cap = 0;
  return NULL;
}

// wait(), in a spare, waits for the environment it is to become: it
// points stdout and stderr at that environment's output and returns its
// variables as JSON. It exits if the snapshot goes first.
static napi_value Wait(napi_env env, napi_callback_info info) {
  (void)info;
  if (spare_sock < 0) {
    napi_throw_error(env, NULL, "wait: not a spare");
    return NULL;
  }
  // Readied: the snapshot waits for this from its first spare only, and
  // may have closed its end already, having sent the environment.
  if (send(spare_sock, "r", 1, MSG_NOSIGNAL) < 0) {
    // Nothing to tell, then.
  }
  struct buffer b = {0};
  char *line = NULL;
  while ((line = take_line(&b)) == NULL) {
    if (recv_some(spare_sock, &b) <= 0) _exit(0); // the snapshot has gone
  }
  close(spare_sock);
  spare_sock = -1;
  int out = take_fd(&b);
  if (out < 0) _exit(0);
  // nephele's end of the pipe is non-blocking; the environment's output
  // blocks when the pipe is full rather than losing what it writes.
  int fl = fcntl(out, F_GETFL);
  if (fl >= 0) fcntl(out, F_SETFL, fl & ~O_NONBLOCK);
  dup2(out, 1);
  dup2(out, 2);
  close(out);
  free(b.data);
  napi_value result;
  napi_create_string_utf8(env, line, NAPI_AUTO_LENGTH, &result);
  free(line);
  return result;
}

// exit(code) ends a restored environment at once: node's own exit would
// wait for threads a forked process does not have.
static napi_value Exit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  int32_t code = 0;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  if (argc > 0) napi_get_value_int32(env, arg, &code);
  _exit(code);
  return NULL;
}

// pending(), in a spare, says whether its environment is already asked
// for: then readying itself would only delay it.
static napi_value Pending(napi_env env, napi_callback_info info) {
  (void)info;
  struct pollfd fd = {.fd = spare_sock, .events = POLLIN};
  napi_value result;
  napi_get_boolean(env, spare_sock >= 0 && poll(&fd, 1, 0) > 0, &result);
  return result;
}

// ids() is [getpid(), getppid()]: node keeps the pid it started with.
static napi_value Ids(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, v;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_int32(env, (int32_t)getpid(), &v);
  napi_set_element(env, arr, 0, v);
  napi_create_int32(env, (int32_t)getppid(), &v);
  napi_set_element(env, arr, 1, v);
  return arr;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "connect", NAPI_AUTO_LENGTH, Connect, NULL, &fn);
  napi_set_named_property(env, exports, "connect", fn);
  napi_create_function(env, "pending", NAPI_AUTO_LENGTH, Pending, NULL, &fn);
  napi_set_named_property(env, exports, "pending", fn);
  napi_create_function(env, "serve", NAPI_AUTO_LENGTH, Serve, NULL, &fn);
  napi_set_named_property(env, exports, "serve", fn);
  napi_create_function(env, "exit", NAPI_AUTO_LENGTH, Exit, NULL, &fn);
  napi_set_named_property(env, exports, "exit", fn);
  napi_create_function(env, "wait", NAPI_AUTO_LENGTH, Wait, NULL, &fn);
  napi_set_named_property(env, exports, "wait", fn);
  napi_create_function(env, "ids", NAPI_AUTO_LENGTH, Ids, NULL, &fn);
  napi_set_named_property(env, exports, "ids", fn);
  return exports;
}
