// Registers many SIP accounts with JsSIP over WebSocket, one UA and one WebSocket per account,
// as the peer the kazoo-actors benchmarks compare against. Reports are JSON lines on stdout
// (each with an "event" key); diagnostics go to stderr.
//
//   node jssip_register.mjs --ws-url ws://127.0.0.1:5066 --realm lab.test --password secret \
//       --count 1000 --concurrency 50 [--mode register|recovery] [--hold 10]
//
// register: register all, optionally hold S seconds measuring idle CPU, unregister, print one
//           "result" line, exit.
// recovery: register all, print "ready", then keep running: print "lost" when an account's
//           registration goes away, "registered" when it comes back, "all_registered" when every
//           account is registered again; on stdin "stop" or EOF (or SIGTERM) unregister, print
//           "stopped" and exit. The caller controls the server.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import readline from 'node:readline';
import JsSIP from 'jssip';
import { NodeWebSocketSocket } from './node_websocket_socket.mjs';

const require = createRequire(import.meta.url);
const JSSIP_VERSION = require('jssip/package.json').version;

const USAGE = `usage: node jssip_register.mjs --ws-url URL --realm REALM --password P --count N
  [--user-template 'jssip{i}'] [--first 0] [--concurrency 50] [--mode register|recovery]
  [--hold SECONDS] [--expires 600] [--attempt-timeout 30] [--stop-timeout 10]`;

function options() {
  const { values } = parseArgs({
    options: {
      'ws-url': { type: 'string' },
      realm: { type: 'string' },
      password: { type: 'string' },
      'user-template': { type: 'string', default: 'jssip{i}' },
      first: { type: 'string', default: '0' },
      count: { type: 'string' },
      concurrency: { type: 'string', default: '50' },
      mode: { type: 'string', default: 'register' },
      hold: { type: 'string', default: '0' },
      expires: { type: 'string', default: '600' },
      'attempt-timeout': { type: 'string', default: '30' },
      'stop-timeout': { type: 'string', default: '10' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  for (const name of ['ws-url', 'realm', 'password', 'count']) {
    if (values[name] === undefined) {
      usageError(`--${name} is required`);
    }
  }
  if (!values['user-template'].includes('{i}')) {
    usageError('--user-template must contain {i}');
  }
  if (values.mode !== 'register' && values.mode !== 'recovery') {
    usageError(`--mode must be register or recovery, not ${values.mode}`);
  }
  return {
    wsUrl: values['ws-url'],
    realm: values.realm,
    password: values.password,
    userTemplate: values['user-template'],
    first: integer(values.first, 'first', 0),
    count: integer(values.count, 'count', 1),
    concurrency: integer(values.concurrency, 'concurrency', 1),
    mode: values.mode,
    holdS: number(values.hold, 'hold'),
    expires: integer(values.expires, 'expires', 1),
    attemptTimeoutS: number(values['attempt-timeout'], 'attempt-timeout'),
    stopTimeoutS: number(values['stop-timeout'], 'stop-timeout'),
  };
}

function usageError(message) {
  process.stderr.write(`jssip_register: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function integer(text, name, minimum) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) {
    usageError(`--${name} must be an integer >= ${minimum}, not ${text}`);
  }
  return value;
}

function number(text, name) {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    usageError(`--${name} must be a number >= 0, not ${text}`);
  }
  return value;
}

function report(event, fields) {
  process.stdout.write(`${JSON.stringify({ event, peer: 'jssip', t: Date.now() / 1000, ...fields })}\n`);
}

function log(message) {
  process.stderr.write(`jssip_register: ${message}\n`);
}

// RSS after a full collection when node runs with --expose-gc, so garbage from the
// registration burst is not counted as per-account memory.
function rssBytes() {
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

function percentile(sorted, p) {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, rank)];
}

function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

// One account: its UA and what happened to it. `state` is one of connecting, registered,
// lost, failed, stopped.
class Account {
  constructor(index, config, tracker) {
    this.index = index;
    this.user = config.userTemplate.replaceAll('{i}', String(index));
    this.state = 'connecting';
    this.connectRetries = 0;
    this.ua = new JsSIP.UA({
      sockets: [new NodeWebSocketSocket(config.wsUrl)],
      uri: `sip:${this.user}@${config.realm}`,
      authorization_user: this.user,
      password: config.password,
      register: true,
      register_expires: config.expires,
      session_timers: false,
      user_agent: `JsSIP ${JSSIP_VERSION} (kazoo-actors bench peer)`,
    });
    this.ua.on('connecting', (data) => tracker.connecting(this, data.attempts));
    this.ua.on('connected', () => tracker.connectEnded(this));
    this.ua.on('disconnected', () => tracker.disconnected(this));
    this.ua.on('registered', () => tracker.registered(this));
    this.ua.on('unregistered', () => tracker.unregistered(this));
    this.ua.on('registrationFailed', (data) => tracker.registrationFailed(this, data.cause));
  }
}

// Counts what every UA reports and wakes whoever waits for one account's first outcome.
class Tracker {
  constructor() {
    this.connectingNow = 0;
    this.peakConnecting = 0;
    this.reconnectAttempts = 0;
    this.errors = {};
    this.lostNow = 0;
    this.lostTotal = 0;
    this.recovering = false;
    this.waiters = new Map();
    this.inConnect = new Set();
  }

  connecting(account, attempts) {
    if (!this.inConnect.has(account)) {
      this.inConnect.add(account);
      this.connectingNow += 1;
      this.peakConnecting = Math.max(this.peakConnecting, this.connectingNow);
    }
    if (attempts > 0) {
      this.reconnectAttempts += 1;
    }
  }

  connectEnded(account) {
    if (this.inConnect.delete(account)) {
      this.connectingNow -= 1;
    }
  }

  disconnected(account) {
    this.connectEnded(account);
    if (account.state === 'connecting') {
      account.connectRetries += 1;
    }
  }

  registered(account) {
    const previous = account.state;
    account.state = 'registered';
    this.settle(account, true);
    if (previous === 'lost') {
      this.lostNow -= 1;
    }
    if (previous === 'lost' && this.recovering) {
      report('registered', { account: account.index, user: account.user });
      if (this.lostNow === 0) {
        report('all_registered', {
          lost_total: this.lostTotal,
          reconnect_attempts: this.reconnectAttempts,
          peak_connecting: this.peakConnecting,
        });
      }
    }
  }

  unregistered(account) {
    if (account.state !== 'registered') {
      return;
    }
    account.state = 'lost';
    this.lostNow += 1;
    this.lostTotal += 1;
    if (this.recovering) {
      report('lost', { account: account.index, user: account.user });
    }
  }

  registrationFailed(account, cause) {
    this.errors[cause] = (this.errors[cause] ?? 0) + 1;
    if (account.state === 'connecting') {
      account.state = 'failed';
      this.settle(account, false);
    }
  }

  // Resolves with true once the account registers, false if it fails or the timeout passes.
  firstOutcome(account, timeoutS) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(account);
        this.errors.timeout = (this.errors.timeout ?? 0) + 1;
        account.state = 'failed';
        resolve(false);
      }, timeoutS * 1000);
      this.waiters.set(account, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
    });
  }

  settle(account, ok) {
    const waiter = this.waiters.get(account);
    if (waiter) {
      this.waiters.delete(account);
      waiter(ok);
    }
  }
}

// Registers every account with at most `concurrency` attempts (UA start to first
// registration outcome) in flight; a failed account's UA is stopped so it does not retry.
async function registerAll(config, tracker) {
  const accounts = [];
  const latenciesMs = [];
  let next = 0;
  async function worker() {
    while (next < config.count) {
      const index = config.first + next;
      next += 1;
      const account = new Account(index, config, tracker);
      accounts.push(account);
      const started = performance.now();
      const outcome = tracker.firstOutcome(account, config.attemptTimeoutS);
      account.ua.start();
      if (await outcome) {
        latenciesMs.push(performance.now() - started);
      } else {
        account.ua.stop();
      }
    }
  }
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(Array.from({ length: Math.min(config.concurrency, config.count) }, worker));
  const durationS = (performance.now() - started) / 1000;
  // CPU time next to wall time: on a shared machine the rate alone mostly measures the neighbours.
  const cpu = process.cpuUsage(cpuStart);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  latenciesMs.sort((a, b) => a - b);
  const registered = accounts.filter((account) => account.state === 'registered').length;
  return {
    accounts,
    stats: {
      accounts: config.count,
      concurrency: config.concurrency,
      registered,
      failed: config.count - registered,
      duration_s: round(durationS, 3),
      registrations_per_s: round(registered / durationS, 1),
      register_cpu_s: round(cpuS, 3),
      registrations_per_cpu_s: cpuS > 0 ? round(registered / cpuS, 1) : null,
      register_latency_ms: {
        p50: round(percentile(latenciesMs, 50) ?? 0, 1),
        p95: round(percentile(latenciesMs, 95) ?? 0, 1),
        p99: round(percentile(latenciesMs, 99) ?? 0, 1),
      },
      connect_retries: accounts.reduce((sum, account) => sum + account.connectRetries, 0),
      peak_connecting: tracker.peakConnecting,
      errors: { ...tracker.errors },
    },
  };
}

// Stops every UA and waits, bounded, for all transports to close. JsSIP unregisters a
// registered UA on stop() and closes its transport 2 s later or once the REGISTER completes.
async function stopAll(accounts, config) {
  const live = accounts.filter((account) => account.state !== 'failed');
  const closed = live.map(
    (account) =>
      new Promise((resolve) => {
        if (!account.ua.isConnected()) {
          resolve();
          return;
        }
        account.ua.once('disconnected', resolve);
      }),
  );
  for (const account of live) {
    account.state = 'stopped';
    account.ua.stop();
  }
  const timeout = sleep(config.stopTimeoutS * 1000).then(() => 'timeout');
  const outcome = await Promise.race([Promise.all(closed).then(() => 'closed'), timeout]);
  if (outcome === 'timeout') {
    log(`not every UA closed within ${config.stopTimeoutS} s`);
  }
  return live.length;
}

function memoryFields(rssBefore, rssAfter, registered) {
  return {
    rss_mb_before: round(rssBefore / 2 ** 20, 1),
    rss_mb_after: round(rssAfter / 2 ** 20, 1),
    rss_kb_per_account: registered > 0 ? round((rssAfter - rssBefore) / 1024 / registered, 2) : null,
  };
}

async function holdIdle(accounts, holdS) {
  const registeredBefore = accounts.filter((account) => account.state === 'registered').length;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await sleep(holdS * 1000);
  const cpu = process.cpuUsage(cpuStart);
  const wallS = (performance.now() - wallStart) / 1000;
  const registeredAfter = accounts.filter((account) => account.state === 'registered').length;
  return {
    hold_s: round(wallS, 3),
    idle_cpu_s: round((cpu.user + cpu.system) / 1e6, 3),
    idle_cpu_percent: round(((cpu.user + cpu.system) / 1e6 / wallS) * 100, 2),
    lost_registrations: registeredBefore - registeredAfter,
  };
}

function untilStopRequested() {
  return new Promise((resolve) => {
    const lines = readline.createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() === 'stop') {
        resolve('stdin stop');
      }
    });
    lines.on('close', () => resolve('stdin closed'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

async function main() {
  const config = options();
  const tracker = new Tracker();
  const common = { jssip_version: JSSIP_VERSION, node_version: process.versions.node };
  const rssBefore = rssBytes();
  const { accounts, stats } = await registerAll(config, tracker);
  const memory = memoryFields(rssBefore, rssBytes(), stats.registered);
  log(`registered ${stats.registered}/${config.count} in ${stats.duration_s} s`);

  if (config.mode === 'register') {
    const idle = config.holdS > 0 ? await holdIdle(accounts, config.holdS) : {};
    const stopped = await stopAll(accounts, config);
    report('result', { ...common, ...stats, ...memory, ...idle, stopped });
    return;
  }

  report('ready', { ...common, ...stats, ...memory });
  // From here on the counters describe recovery only.
  tracker.recovering = true;
  tracker.peakConnecting = tracker.connectingNow;
  tracker.reconnectAttempts = 0;
  const reason = await untilStopRequested();
  log(`stopping (${reason})`);
  const summary = {
    lost_now: tracker.lostNow,
    lost_total: tracker.lostTotal,
    reconnect_attempts: tracker.reconnectAttempts,
    peak_connecting: tracker.peakConnecting,
    registered_now: accounts.filter((account) => account.state === 'registered').length,
  };
  const stopped = await stopAll(accounts, config);
  report('stopped', { ...summary, stopped });
}

main().then(
  () => process.exit(0),
  (error) => {
    log(error?.stack ?? String(error));
    process.exit(1);
  },
);
