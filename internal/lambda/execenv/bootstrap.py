"""nephele's runtime client for python3.x Lambda functions.

It does what Lambda's awslambdaric does: it imports the handler named by
_HANDLER ("module.function", the module path may hold "/"), then polls the
Lambda Runtime API at AWS_LAMBDA_RUNTIME_API for invocations, calls
handler(event, context) and posts the result or the error, shaped as
Lambda shapes them. Import failures are init errors (/init/error), then the
process exits, as on Lambda.
"""

import importlib
import json
import os
import socket
import sys
import time
import traceback

API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
PREFIX = "/2018-06-01/runtime"


class _Response:
    def __init__(self, status, headers):
        self.status = status
        self.headers = headers


class _Client:
    """A minimal HTTP/1.1 client for the Runtime API on loopback.

    http.client pulls in the email package, which costs more start-up time
    than the rest of the runtime client together.
    """

    def __init__(self, api):
        host, port = api.rsplit(":", 1)
        self.addr = (host, int(port))
        self.sock = None
        self.buf = b""

    def _connect(self):
        # A plain IPv4 connect: the Runtime API is always a loopback
        # address, and create_connection's address lookup costs tens of
        # milliseconds in a freshly forked SnapStart environment.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.connect(self.addr)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("Runtime API closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def request(self, method, path, body=b"", headers=None):
        for attempt in range(2):
            try:
                if self.sock is None:
                    self._connect()
                head = "%s %s%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n" % (
                    method, PREFIX, path, self.addr[0], self.addr[1], len(body))
                for k, v in (headers or {}).items():
                    head += "%s: %s\r\n" % (k, v)
                self.sock.sendall(head.encode("latin-1") + b"\r\n" + body)
                return self._read()
            except OSError:
                self.close()
                if attempt:
                    raise

    def _read(self):
        status = int(self._line().split(b" ", 2)[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                parts.append(self._exact(size))
                self._exact(2)
            body = b"".join(parts)
        else:
            body = self._exact(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return _Response(status, headers), body

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None


_client = _Client(API) if API else None


def _request(method, path, body=b"", headers=None):
    return _client.request(method, path, body, headers)


def _flush():
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass


def _error(message, error_type, stack=None):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": "",
        "stackTrace": stack or [],
    }


def _log_error(err):
    # One log event, as Lambda's runtime writes it: lines joined by \r.
    lines = ["[ERROR] %s: %s" % (err["errorType"], err["errorMessage"])]
    if err["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        for frame in err["stackTrace"]:
            lines.extend(frame.rstrip("\n").split("\n"))
    sys.stdout.write("\r".join(lines) + "\n")
    _flush()


def _user_stack(tb):
    frames = traceback.extract_tb(tb)
    for i, f in enumerate(frames):
        if not f.filename.endswith("bootstrap.py"):
            return traceback.format_list(frames[i:])
    return []


def _fault(exc):
    return _error(str(exc), type(exc).__name__, _user_stack(exc.__traceback__))


class _HandlerFault(Exception):
    def __init__(self, err):
        super().__init__(err["errorMessage"])
        self.err = err


def _load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _HandlerFault(_error("Bad handler '%s': %s" % (handler, e), "Runtime.MalformedHandlerName"))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _HandlerFault(_error("Cannot use built-in module %s as a handler module" % modname, "Runtime.BuiltInModuleConflict"))
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _HandlerFault(_error("Unable to import module '%s': %s" % (modname, e), "Runtime.ImportModuleError"))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, (e.text or "").strip())]
        raise _HandlerFault(_error("Syntax error in module '%s': %s" % (modname, e), "Runtime.UserCodeSyntaxError", trace))
    try:
        return getattr(module, fname)
    except AttributeError:
        missing = _error("Handler '%s' missing on module '%s'" % (fname, modname), "Runtime.HandlerNotFound")

        def not_found(event, context):
            raise _HandlerFault(missing)

        return not_found


class CognitoIdentity:
    def __init__(self, doc):
        self.cognito_identity_id = doc.get("cognitoIdentityId")
        self.cognito_identity_pool_id = doc.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, doc):
        self.installation_id = doc.get("installation_id")
        self.app_title = doc.get("app_title")
        self.app_version_name = doc.get("app_version_name")
        self.app_version_code = doc.get("app_version_code")
        self.app_package_name = doc.get("app_package_name")


class ClientContext:
    def __init__(self, doc):
        self.client = Client(doc["client"]) if doc.get("client") else None
        self.custom = doc.get("custom")
        self.env = doc.get("env")


class LambdaContext:
    """The context object, with the attributes and method Lambda's has."""

    def __init__(self, request_id, deadline_ms, invoked_arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = deadline_ms
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(identity or {})

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        _flush()

    def __repr__(self):
        return "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])" % (
            self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
            self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
            self.client_context, self.identity)


_request_id = None


def _setup_logging():
    import logging

    class _RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id
            return True

    class _LambdaLogHandler(logging.Handler):
        def emit(self, record):
            msg = self.format(record).rstrip("\n").replace("\n", "\r")
            sys.stdout.write(msg + "\n")

    logging.Formatter.converter = time.gmtime
    handler = _LambdaLogHandler()
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _json_header(headers, name):
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def main():
    global _request_id
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    _setup_logging()

    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _HandlerFault as f:
        err = f.err
    except Exception as e:
        err = _fault(e)
    else:
        err = None
    snap = os.environ.pop("NEPHELE_SNAPSTART_SOCKET", "")
    if snap:
        # SnapStart: this process is the initialised snapshot; each
        # environment is a fork of it (_serve_snapshot returns in the child).
        _serve_snapshot(snap, err)
        err = None
    if err is not None:
        _log_error(err)
        _request("POST", "/init/error", json.dumps(err).encode(),
                 {"Lambda-Runtime-Function-Error-Type": err["errorType"], "Content-Type": "application/json"})
        sys.exit(1)
    _run(handler)


def _serve_snapshot(path, err):
    """Serve nephele's restore requests over the unix socket at path.

    The control channel carries lines: from us "ready" or "initerror JSON",
    then "pid TOKEN PID" for each restore and "exit PID CODE" as children
    end; from nephele "fork TOKEN JSON" with the new environment's output
    pipe passed as a file descriptor.

    A restore hands the request to a spare: a child forked ahead from the
    initialised state, waiting for its environment, so that a restore does
    not wait for fork(2) (tens of milliseconds on some virtual machines);
    a new spare is forked after each restore. A child returns from here,
    with the environment's variables set and its output redirected, to run
    the runtime loop; the snapshot itself never returns.
    """
    import gc
    import select
    import signal

    gc.freeze()  # what init allocated stays shared with the forks
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.connect(path)
    _flush()
    if err is not None:
        _log_error(err)
        ctl.sendall(b"initerror " + json.dumps(err).encode() + b"\n")
    else:
        ctl.sendall(b"ready\n")
    rd, wr = os.pipe()
    os.set_blocking(rd, False)
    os.set_blocking(wr, False)
    signal.set_wakeup_fd(wr)
    signal.signal(signal.SIGCHLD, lambda *a: None)

    def spawn():
        """Fork a spare; in the child, wait for an environment and return
        None (the child then runs it), in the parent return (pid, socket)."""
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid:
            theirs.close()
            return pid, mine
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.close(rd)
        os.close(wr)
        ctl.close()
        mine.close()
        os.setsid()
        data, fds, _, _ = socket.recv_fds(theirs, 1 << 20, 1)
        if not data or not fds:
            os._exit(0)  # the snapshot has gone
        while not data.endswith(b"\n"):
            more = theirs.recv(1 << 20)
            if not more:
                os._exit(0)
            data += more
        theirs.close()
        out = fds[0]
        # nephele's end of the pipe is non-blocking; output must block when
        # the pipe is full rather than be lost.
        os.set_blocking(out, True)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        _become(json.loads(data))
        return None

    spare = spawn() if err is None else None
    if err is None and spare is None:
        return
    buf = b""
    fds = []
    while True:
        try:
            ready, _, _ = select.select([ctl, rd], [], [])
        except InterruptedError:
            continue
        if rd in ready:
            try:
                os.read(rd, 4096)
            except BlockingIOError:
                pass
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                ctl.sendall(b"exit %d %d\n" % (pid, os.waitstatus_to_exitcode(status)))
        if ctl in ready:
            data, got, _, _ = socket.recv_fds(ctl, 65536, 4)
            if not data:
                os._exit(0)  # nephele closed the snapshot
            buf += data
            fds.extend(got)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                _, token, spec = line.decode().split(" ", 2)
                out = fds.pop(0)
                for attempt in range(2):
                    if spare is None:
                        spare = spawn()
                        if spare is None:
                            return
                    pid, sock = spare
                    spare = None
                    try:
                        socket.send_fds(sock, [spec.encode() + b"\n"], [out])
                        break
                    except OSError:
                        pid = None  # that spare died; fork another
                    finally:
                        sock.close()
                os.close(out)
                if pid is not None:
                    ctl.sendall(b"pid %s %d\n" % (token.encode(), pid))
                spare = spawn()
                if spare is None:
                    return


def _become(env):
    """Turn a forked snapshot into one environment."""
    global API, _client
    for k, v in env.items():
        os.environ[k] = v
    API = os.environ["AWS_LAMBDA_RUNTIME_API"]
    _client = _Client(API)
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # recomputed from TMPDIR


def _run(handler):
    global _request_id
    while True:
        resp, body = _request("GET", "/invocation/next")
        h = resp.headers
        request_id = h.get("lambda-runtime-aws-request-id")
        _request_id = request_id
        trace_id = h.get("lambda-runtime-trace-id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = LambdaContext(
            request_id,
            int(h.get("lambda-runtime-deadline-ms") or 0),
            h.get("lambda-runtime-invoked-function-arn"),
            _json_header(h, "lambda-runtime-client-context"),
            _json_header(h, "lambda-runtime-cognito-identity"),
        )
        err = None
        try:
            try:
                event = json.loads(body) if body else None
            except ValueError as e:
                raise _HandlerFault(_error("Unable to unmarshal input: %s" % e, "Runtime.UnmarshalError"))
            result = handler(event, context)
            try:
                out = json.dumps(result).encode()
            except (TypeError, ValueError) as e:
                err = _error("Unable to marshal response: %s" % e, "Runtime.MarshalError")
        except _HandlerFault as f:
            err = f.err
        except Exception as e:
            err = _fault(e)
        _flush()
        if err is not None:
            _log_error(err)
            _request("POST", "/invocation/%s/error" % request_id, json.dumps(err).encode(),
                     {"Lambda-Runtime-Function-Error-Type": err["errorType"], "Content-Type": "application/json"})
        else:
            _request("POST", "/invocation/%s/response" % request_id, out, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
