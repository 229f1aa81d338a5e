// bench/query_bench.mjs: five typical security queries (from ../shared/bench/queries.sql) run by
// DuckDB over two lakes of the same bucket, one written by trailpq and one by DuckDB itself.
// Placeholders are filled with values read from the trailpq lake (DAY: the day with the most
// RunInstances calls in the window of the event-name query, else the busiest day; the busiest
// access key; the busiest source IP address), so both lakes answer the same question. Each query
// is timed best of 3 (after one untimed warm-up; runs alternate between the lakes), one DuckDB
// instance per lake; the row counts of both lakes are printed so a mismatch shows. Not a test.
// Then each query runs once more per lake, untimed, with DuckDB's external file cache off, and
// the bytes the process read from the lake's files during it are printed beside the times.
//
//   node bench/query_bench.mjs LAKE_TRAILPQ LAKE_DUCKDB [--runs N]
//
// Run from the repository root (needs @duckdb/node-api in ./node_modules).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const req = createRequire(path.join(here, '..') + '/');
const { DuckDBInstance } = await import(pathToFileURL(req.resolve('@duckdb/node-api')).href);

const args = process.argv.slice(2);
let runs = 3, repeat = 1;
const ri = args.indexOf('--runs');
if (ri >= 0) { runs = Number(args[ri + 1]); args.splice(ri, 2); }
const rr = args.indexOf('--repeat');
if (rr >= 0) { repeat = Number(args[rr + 1]); args.splice(rr, 2); }
const [lakeTp, lakeDd] = args;
if (!lakeTp || !lakeDd) {
  console.error('usage: node bench/query_bench.mjs LAKE_TRAILPQ LAKE_DUCKDB [--runs N] [--repeat R]');
  process.exit(2);
}

// the five picked queries, by their `-- name:` in queries.sql, with what they stand for
const PICK = [
  ['eventname_window', 'one event name over a window'],
  ['access_key_timeline', "one access key's activity"],
  ['access_denied_by_principal', 'errors by user'],
  ['source_ip_activity', 'a source IP lookup'],
  ['console_login_no_mfa', 'console logins without MFA'],
];

const sqlFile = path.join(here, '..', '..', 'shared', 'bench', 'queries.sql');
const queries = new Map();
let name = null;
let body = [];
for (const line of fs.readFileSync(sqlFile, 'utf8').split('\n')) {
  const m = /^-- name:\s*(\S+)/.exec(line);
  if (m) {
    if (name) queries.set(name, body.join('\n'));
    name = m[1];
    body = [];
  } else if (name && !line.startsWith('--')) {
    body.push(line);
  }
}
if (name) queries.set(name, body.join('\n'));
const strip = (s) => s.trim().replace(/;\s*$/, '');

async function open(lake) {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const glob = path.resolve(lake).replaceAll("'", "''") + '/cloudtrail/**/*.parquet';
  await con.run(`CREATE VIEW cloudtrail AS SELECT * FROM read_parquet('${glob}',
    hive_partitioning = true, hive_types_autocast = false)`);
  return { db, con };
}

async function one(con, sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRows();
}

// placeholder values, taken from the trailpq lake
const vals = {};
{
  const { con } = await open(lakeTp);
  // the day with the most RunInstances calls between 06:00 and 12:00 (so the event-window query
  // has rows), else the busiest day
  let day = await one(con, `SELECT strftime(eventtime, '%Y-%m-%d') FROM cloudtrail
    WHERE eventname = 'RunInstances' AND hour(eventtime) BETWEEN 6 AND 11
    GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  if (!day.length) {
    day = await one(con, `SELECT strftime(eventtime, '%Y-%m-%d') FROM cloudtrail
      GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  }
  const [y, mo, d] = day[0][0].split('-');
  Object.assign(vals, { YEAR: y, MONTH: mo, DD: d, DAY: `${y}-${mo}-${d}` });
  const ak = await one(con, `SELECT useridentity.accesskeyid FROM cloudtrail
    WHERE useridentity.accesskeyid IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  vals.ACCESS_KEY = ak.length ? ak[0][0] : 'AKIANONE';
  const ip = await one(con, `SELECT sourceipaddress FROM cloudtrail
    WHERE regexp_full_match(sourceipaddress, '[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+')
    GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
  vals.SOURCE_IP = ip.length ? ip[0][0] : '192.0.2.1';
  const [[n]] = await one(con, 'SELECT count(*) FROM cloudtrail');
  console.log(`rows ${n}; DAY=${vals.DAY} ACCESS_KEY=${vals.ACCESS_KEY} SOURCE_IP=${vals.SOURCE_IP}`);
}
const fill = (sql) => sql.replace(/\$\{([A-Z_]+)\}/g, (m, k) => {
  if (!(k in vals)) throw new Error(`no value for placeholder ${m}`);
  return String(vals[k]).replaceAll("'", "''");
});

for (const [q] of PICK) if (!queries.has(q)) throw new Error(`query ${q} not in ${sqlFile}`);
// both lakes open side by side; each query's runs alternate between them, so a burst of load
// from elsewhere on the machine hurts both sides alike
const lakes = [await open(lakeTp), await open(lakeDd)];
const tp = {}, dd = {};
const sqls = new Map(PICK.map(([q]) => [q, fill(strip(queries.get(q)))]));
for (const [q, sql] of sqls) {
  const res = [];
  for (const { con } of lakes) {
    res.push({ rows: (await con.runAndReadAll(sql)).currentRowCount, best: [], cpu: [] });
  }
  [tp[q], dd[q]] = res;
}
// Time is DuckDB's run of the query into a materialized result (not the conversion of its rows
// to JavaScript values, which costs the same on both lakes). CPU is the process's user + system
// time over the same span (all DuckDB threads): less disturbed than wall time when other work
// shares the cores.
const median = (v) => {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (let rep = 0; rep < repeat; rep++) {
  for (const [q, sql] of sqls) {
    const res = [tp[q], dd[q]];
    const ms = [Infinity, Infinity], cpu = [Infinity, Infinity];
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < lakes.length; k++) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await lakes[k].con.runAndReadAll(sql);
        const t = Number(process.hrtime.bigint() - t0) / 1e6;
        const c = process.cpuUsage(c0);
        ms[k] = Math.min(ms[k], t);
        cpu[k] = Math.min(cpu[k], (c.user + c.system) / 1e3);
      }
    }
    for (let k = 0; k < lakes.length; k++) {
      res[k].best.push(ms[k]);
      res[k].cpu.push(cpu[k]);
    }
  }
}
for (const r of [...Object.values(tp), ...Object.values(dd)]) {
  r.ms = median(r.best);
  r.cpuMs = median(r.cpu);
}

// Bytes read: what the process read from files during one more, untimed run of the query, as
// the kernel counts it (rchar of /proc/self/io: bytes returned by read and pread). DuckDB's
// external file cache (on by default) serves the warm runs above from memory, so it is off for
// this run. DuckDB's profiler metric TOTAL_BYTES_READ is no use here: it counts the footer and
// Bloom filter reads but not the column chunks (985 KB for a SELECT * that reads 13.4 MB).
const rchar = () => {
  try {
    return Number(/rchar:\s*(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))[1]);
  } catch {
    return NaN; // not Linux: bytes are printed as NaN
  }
};
async function measure(con, sql) {
  await con.run('SET enable_external_file_cache = false');
  const before = rchar();
  await one(con, sql);
  const bytes = rchar() - before;
  await con.run('SET enable_external_file_cache = true');
  return { bytes };
}
for (const [q, sql] of sqls) {
  Object.assign(tp[q], await measure(lakes[0].con, sql));
  Object.assign(dd[q], await measure(lakes[1].con, sql));
}

// the lakes' sizes: every *.parquet file under LAKE/cloudtrail
function lakeBytes(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += lakeBytes(p);
    else if (e.name.endsWith('.parquet')) n += fs.statSync(p).size;
  }
  return n;
}
const sizeTp = lakeBytes(path.join(lakeTp, 'cloudtrail'));
const sizeDd = lakeBytes(path.join(lakeDd, 'cloudtrail'));
console.log(`lake size: trailpq ${sizeTp} bytes, DuckDB ${sizeDd} bytes ` +
  `(x${(sizeTp / sizeDd).toFixed(3)})`);

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const kb = (n) => (n / 1024).toFixed(0);
const x = (r) => 'x' + r.toFixed(2);
const how = repeat > 1 ? `median of ${repeat} repeats of best of ${runs}` : `best of ${runs}`;
console.log(`times in ms (${how}); KiB read from the files in one run with DuckDB's file cache off`);
console.log(`${pad('query', 27)} ${lpad('rows', 6)} ${lpad('tpq ms', 7)} ${lpad('ddb ms', 7)} ` +
  `${lpad('time', 6)} ${lpad('tpq cpu', 7)} ${lpad('ddb cpu', 7)} ${lpad('cpu', 6)} ` +
  `${lpad('tpq KiB', 7)} ${lpad('ddb KiB', 7)} ${lpad('bytes', 6)}`);
const logs = [0, 0, 0];
for (const [q, what] of PICK) {
  const a = tp[q], b = dd[q];
  const r = [a.ms / b.ms, a.cpuMs / b.cpuMs, a.bytes / b.bytes];
  r.forEach((v, i) => { logs[i] += Math.log(v); });
  const flag = a.rows === b.rows ? '' : `  ROW COUNTS DIFFER: ${a.rows} vs ${b.rows}`;
  console.log(`${pad(q, 27)} ${lpad(a.rows, 6)} ${lpad(a.ms.toFixed(1), 7)} ` +
    `${lpad(b.ms.toFixed(1), 7)} ${lpad(x(r[0]), 6)} ${lpad(a.cpuMs.toFixed(0), 7)} ` +
    `${lpad(b.cpuMs.toFixed(0), 7)} ${lpad(x(r[1]), 6)} ${lpad(kb(a.bytes), 7)} ` +
    `${lpad(kb(b.bytes), 7)} ${lpad(x(r[2]), 6)}${flag}   (${what})`);
}
const g = (i) => x(Math.exp(logs[i] / PICK.length));
console.log(`geometric means, trailpq lake / DuckDB lake (<1: the trailpq lake is better): ` +
  `time ${g(0)}, CPU ${g(1)}, bytes read ${g(2)}`);
