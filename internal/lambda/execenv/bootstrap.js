// nephele's runtime client for nodejs*.x Lambda functions.
//
// It does what the Node.js runtime of Lambda does: it loads the handler named
// by _HANDLER ("file.export", the file may sit in subdirectories and be .js,
// .mjs or .cjs), then polls the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API
// for invocations and calls handler(event, context) - async handlers that
// return a promise, and callback handlers (event, context, callback). Errors
// are posted as {errorType, errorMessage, trace}, as Lambda's Node.js runtime
// shapes them; load failures are init errors, after which the process exits.
'use strict';

const net = require('net');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

let api, host, port;
function setAPI() {
  api = process.env.AWS_LAMBDA_RUNTIME_API || '';
  const sep = api.lastIndexOf(':');
  host = api.slice(0, sep);
  port = Number(api.slice(sep + 1));
}
setAPI();
const prefix = '/2018-06-01/runtime';

// A minimal HTTP/1.1 client for the Runtime API on loopback, on one kept
// connection: the http module costs about twice the round trip, which is
// most of a warm invocation's overhead. Requests are never concurrent.
let sock = null;
let buf = Buffer.alloc(0);
let pending = null; // { resolve, reject } of the request in flight

function connect() {
  sock = net.connect({ host, port, noDelay: true });
  buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    parse();
  });
  const fail = (err) => {
    sock = null;
    if (pending) {
      const p = pending;
      pending = null;
      p.reject(err || new Error('Runtime API connection closed'));
    }
  };
  sock.on('error', fail);
  sock.on('close', () => fail());
}

function parse() {
  if (!pending) return;
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  let body;
  let rest;
  if ((headers['transfer-encoding'] || '').toLowerCase() === 'chunked') {
    const parts = [];
    let at = end + 4;
    for (;;) {
      const nl = buf.indexOf('\r\n', at);
      if (nl < 0) return;
      const size = parseInt(buf.subarray(at, nl).toString('latin1'), 16);
      if (size === 0) {
        const fin = buf.indexOf('\r\n\r\n', nl);
        if (fin < 0) return;
        rest = fin + 4;
        break;
      }
      if (buf.length < nl + 2 + size + 2) return;
      parts.push(buf.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const n = Number(headers['content-length'] || 0);
    if (buf.length < end + 4 + n) return;
    body = Buffer.from(buf.subarray(end + 4, end + 4 + n));
    rest = end + 4 + n;
  }
  buf = buf.subarray(rest);
  const p = pending;
  pending = null;
  if ((headers.connection || '').toLowerCase() === 'close' && sock) {
    sock.destroy();
    sock = null;
  }
  p.resolve({ status, headers, body });
}

function request(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    if (!sock) connect();
    pending = { resolve, reject };
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    let head = `${method} ${prefix}${urlPath} HTTP/1.1\r\nHost: ${api}\r\nContent-Length: ${payload.length}\r\n`;
    for (const [k, v] of Object.entries(headers || {})) head += `${k}: ${v}\r\n`;
    sock.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]));
  });
}

// Output is written before the handler's answer, as on Lambda: node writes
// to a pipe asynchronously, so a large print would otherwise still be
// queued when the response goes (and lost if the environment ends).
for (const s of [process.stdout, process.stderr]) {
  if (s._handle && typeof s._handle.setBlocking === 'function') s._handle.setBlocking(true);
}

// Console output is prefixed as on Lambda: time, request ID, level.
let currentRequestId;
const write = (level, args) => {
  const msg = util.format(...args).replace(/\n/g, '\r');
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${msg}\n`);
};
console.log = (...a) => write('INFO', a);
console.info = (...a) => write('INFO', a);
console.warn = (...a) => write('WARN', a);
console.error = (...a) => write('ERROR', a);
console.debug = (...a) => write('DEBUG', a);
console.trace = (...a) => write('TRACE', a);
console.fatal = (...a) => write('FATAL', a);

class UserError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && cause.stack) this.stack = `${type}: ${message}\n${String(cause.stack).split('\n').slice(1).join('\n')}`;
  }
}

// toError turns what a handler threw or passed to its callback into Lambda's
// error document.
function toError(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || (err.constructor && err.constructor.name) || 'Error',
      errorMessage: err.message,
      trace: String(err.stack || '').split('\n'),
    };
  }
  if (err === undefined || err === null) {
    return { errorType: 'Error', errorMessage: String(err), trace: [] };
  }
  if (typeof err === 'object') {
    try {
      return { errorType: err.errorType || 'object', errorMessage: err.errorMessage || JSON.stringify(err), trace: [] };
    } catch (e) {
      return { errorType: 'object', errorMessage: String(err), trace: [] };
    }
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

function logError(kind, doc) {
  const shown = { errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace };
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\tERROR\t${kind} \t${JSON.stringify(shown)}\n`);
}

function findModule(base, moduleName) {
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (fs.existsSync(base + ext)) return base + ext;
  }
  try {
    return require.resolve(base);
  } catch (e) { /* not a file or package there */ }
  try {
    // A handler module may come from NODE_PATH, e.g. a layer.
    return require.resolve(moduleName);
  } catch (e) { /* not found */ }
  return null;
}

async function loadHandler(taskRoot, fullHandler) {
  const slash = fullHandler.lastIndexOf('/');
  const moduleRoot = fullHandler.slice(0, slash + 1);
  const rest = fullHandler.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot < 1 || dot === rest.length - 1) {
    throw new UserError('Runtime.MalformedHandlerName', `Bad handler ${fullHandler}`);
  }
  const moduleName = rest.slice(0, dot);
  const handlerPath = rest.slice(dot + 1);
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  const file = findModule(base, moduleName);
  if (!file) {
    throw new UserError('Runtime.ImportModuleError',
      `Error: Cannot find module '${moduleName}'\nRequire stack:\n- ${__filename}`);
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new UserError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`, e);
    }
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new UserError('Runtime.ImportModuleError', `Error: ${e.message}`, e);
    }
    throw e;
  }
  const resolve = (obj) => handlerPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
  let fn = resolve(mod);
  if (fn === undefined && mod.default !== undefined) fn = resolve(mod.default);
  if (fn === undefined) {
    throw new UserError('Runtime.HandlerNotFound', `${fullHandler} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new UserError('Runtime.HandlerNotFound', `${fullHandler} is not a function`);
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => {
    if (!v) return undefined;
    try { return JSON.parse(v); } catch (e) { return undefined; }
  };
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    clientContext: parse(headers['lambda-runtime-client-context']),
    identity: parse(headers['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
  return ctx;
}

// run calls the handler and settles with its result, whichever way it
// gives it: a returned promise or value, or the callback.
function run(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, data) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err); else resolve(data);
    };
    context.done = done;
    context.succeed = (data) => done(null, data);
    context.fail = (err) => done(err === undefined || err === null ? new Error('handled') : err);
    try {
      const callback = handler.length >= 3 ? done : undefined;
      const r = handler(event, context, callback);
      if (r && typeof r.then === 'function') {
        r.then((v) => done(null, v), (e) => done(e === undefined || e === null ? new Error(String(e)) : e));
      } else if (handler.length < 3) {
        done(null, r);
      }
    } catch (e) {
      done(e);
    }
  });
}

let inFlight = null;

async function postError(id, doc) {
  await request('POST', `/invocation/${id}/error`, JSON.stringify(doc), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType,
  });
}

// Crashes outside the handler's promise end the environment, as on Lambda,
// after reporting the invocation they happened in.
async function crash(kind, doc) {
  logError(kind, doc);
  try {
    if (inFlight) await postError(inFlight, doc);
  } finally {
    process.exit(129);
  }
}
process.on('uncaughtException', (err) => crash('Uncaught Exception', toError(err)));
process.on('unhandledRejection', (reason) => {
  const e = toError(reason);
  crash('Unhandled Promise Rejection', { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: `${e.errorType}: ${e.errorMessage}`, trace: e.trace });
});

// SnapStart: this process is the initialised snapshot, and each environment
// is a fork of it. The addon (nodeaddon/snapstart.c) serves nephele's
// restore requests by handing each to a spare forked ahead; serve returns
// only in a spare, which readies itself, then waits to become an
// environment.
async function serveSnapshot(socketPath, initError) {
  const addon = require(process.env.NEPHELE_SNAPSTART_ADDON);
  delete process.env.NEPHELE_SNAPSTART_SOCKET;
  delete process.env.NEPHELE_SNAPSTART_ADDON;
  addon.connect(socketPath, initError ? JSON.stringify(initError) : null); // returns if init went well
  await prime(); // every fork inherits the client compiled
  addon.serve();
  // A spare from here on (a timer from init may already run in it).
  // node's own exit waits for threads a fork does not have.
  process.reallyExit = (code) => addon.exit(code || 0);
  const [pid, ppid] = addon.ids();
  Object.defineProperty(process, 'pid', { value: pid, enumerable: true, configurable: true });
  Object.defineProperty(process, 'ppid', { value: ppid, enumerable: true, configurable: true, writable: true });
  reseedMathRandom();
  // Rehearse the restore's path, unless the restore is already waiting
  // (see nodeaddon/snapstart.c).
  if (!addon.pending()) await prime();
  const vars = JSON.parse(addon.wait());
  for (const [k, v] of Object.entries(vars)) process.env[k] = v;
  setAPI();
}

// reseedMathRandom gives a fork a Math.random of its own: V8's generator
// state is part of the snapshot, so every fork would otherwise draw the
// same sequence (as Python's random is reseeded at fork). Doubles come
// from 53 bits of the operating system's randomness, drawn in batches.
function reseedMathRandom() {
  const crypto = require('crypto');
  const pool = new Uint32Array(1024);
  let at = pool.length;
  Math.random = function random() {
    if (at + 2 > pool.length) {
      crypto.getRandomValues(pool);
      at = 0;
    }
    const hi = pool[at++] >>> 5; // 27 bits
    const lo = pool[at++] >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

// prime runs the Runtime API client once against a stand-in server in the
// snapshot, so that forks inherit its code compiled: V8 compiles functions
// on first call, and a fork would otherwise spend most of its restore
// compiling the socket code of its first request.
async function prime() {
  const srv = net.createServer((c) => c.on('data', () => c.write(
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: prime\r\n' +
    'Lambda-Runtime-Deadline-Ms: 0\r\nContent-Length: 2\r\n\r\n{}')));
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const saved = process.env.AWS_LAMBDA_RUNTIME_API;
  process.env.AWS_LAMBDA_RUNTIME_API = `127.0.0.1:${srv.address().port}`;
  setAPI();
  try {
    const next = await request('GET', '/invocation/next');
    makeContext(next.headers).getRemainingTimeInMillis();
    JSON.parse(next.body.toString('utf8'));
    await request('POST', '/invocation/prime/response', JSON.stringify(null), { 'Content-Type': 'application/json' });
  } catch (e) {
    // Priming only saves time; a fork works without it.
  } finally {
    if (sock) await new Promise((ok) => { sock.once('close', ok); sock.destroy(); });
    await new Promise((ok) => srv.close(ok));
    if (saved === undefined) delete process.env.AWS_LAMBDA_RUNTIME_API;
    else process.env.AWS_LAMBDA_RUNTIME_API = saved;
    setAPI();
  }
}

async function main() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const snapshot = process.env.NEPHELE_SNAPSTART_SOCKET;
  let handler;
  try {
    handler = await loadHandler(taskRoot, process.env._HANDLER || '');
  } catch (e) {
    const doc = toError(e);
    logError('Uncaught Exception', doc);
    if (snapshot) await serveSnapshot(snapshot, doc); // never returns
    await request('POST', '/init/error', JSON.stringify(doc), {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Function-Error-Type': doc.errorType,
    });
    process.exit(129);
  }
  if (snapshot) await serveSnapshot(snapshot, null);
  for (;;) {
    const next = await request('GET', '/invocation/next');
    const h = next.headers;
    const id = h['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    inFlight = id;
    if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    let body;
    let failure;
    try {
      let event = null;
      if (next.body.length) {
        try {
          event = JSON.parse(next.body.toString('utf8'));
        } catch (e) {
          throw new UserError('Runtime.UnmarshalError', `Unable to unmarshal input: ${e.message}`, e);
        }
      }
      const result = await run(handler, event, makeContext(h));
      body = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      failure = toError(e);
    }
    inFlight = null;
    if (failure) {
      logError('Invoke Error', failure);
      await postError(id, failure);
    } else {
      await request('POST', `/invocation/${id}/response`, body, { 'Content-Type': 'application/json' });
    }
  }
}

main();
