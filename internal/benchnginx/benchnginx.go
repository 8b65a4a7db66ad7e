// Package benchnginx configures nginx as the reference reverse proxy the
// load balancer benchmarks measure the ALB against: the bench program and
// the balancer package's benchmarks run the same configuration.
package benchnginx

import (
	"fmt"
	"strings"
)

// Config is an nginx configuration that proxies HTTP/1.1 on listen to the
// targets (host:port) round robin, over up to 512 kept-alive connections
// per worker, adding X-Forwarded-For and X-Forwarded-Proto as an ALB does.
// Everything nginx writes (pid, logs, temp files) goes under dir, so it
// runs unprivileged with `nginx -p dir -c dir/nginx.conf`.
func Config(dir, listen string, targets ...string) string {
	servers := make([]string, len(targets))
	for i, t := range targets {
		servers[i] = "server " + t + ";"
	}
	return fmt.Sprintf(`daemon off;
worker_processes auto;
worker_rlimit_nofile 8192;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream targets { %[2]s keepalive 512; }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://targets;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`, dir, strings.Join(servers, " "), listen)
}
