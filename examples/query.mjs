// Queries a trailpq lake with DuckDB, through the view `trailpq ddl --engine duckdb` prints.
//   node examples/query.mjs LAKE_DIR [SQL]
import { execFileSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';

const [lake, sql] = process.argv.slice(2);
if (!lake) {
  console.error('usage: node examples/query.mjs LAKE_DIR [SQL]');
  process.exit(2);
}
const trailpq = process.env.TRAILPQ || new URL('../trailpq', import.meta.url).pathname;
const ddl = execFileSync(trailpq, ['ddl', '--engine', 'duckdb', '--location', lake], { encoding: 'utf8' });
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(ddl);
const query = sql || `SELECT eventsource, eventname, count(*) AS events,
       count(DISTINCT useridentity.arn) AS principals, min(eventtime) AS first_seen
FROM cloudtrail GROUP BY ALL ORDER BY events DESC LIMIT 10`;
const reader = await con.runAndReadAll(query);
const cols = reader.columnNames();
const rows = reader.getRowsJS().map((r) => r.map((v) => (v instanceof Date ? v.toISOString() : String(v))));
const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((v, i) => v.padEnd(width[i])).join('  ');
console.log(line(cols));
console.log(width.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
