// Runs graphql-http's server audits against the GraphQL endpoint given as the
// first argument. Prints every audit that is not "ok"; exits 1 on a failure
// (a MUST) and, unless ALLOW_WARNINGS=1, on a warning (a SHOULD) too.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}
let passed = 0;
let failed = 0;
let warned = 0;
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed += 1;
    continue;
  }
  if (result.status === 'error') failed += 1;
  else warned += 1;
  console.log(`${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason}`);
}
console.log(`graphql-http server audit — ok: ${passed}, failing: ${failed}, warnings: ${warned}`);
process.exit(failed > 0 || (warned > 0 && process.env.ALLOW_WARNINGS !== '1') ? 1 : 0);
