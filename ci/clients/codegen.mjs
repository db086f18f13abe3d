// GraphQL Code Generator with its schema read from the live server (the
// full introspection query, as `schema: <url>` sends it) and the contract's
// operations as documents; DateTime must come out as its own scalar.
import { generate } from "@graphql-codegen/cli";

const url = process.argv[2];
if (!url) throw new Error("usage: node codegen.mjs http://host:port/graphql");

const [output] = await generate(
  {
    schema: url,
    documents: "../../tests/contract/*.graphql",
    silent: true,
    errorsOnly: true,
    generates: {
      "generated/types.ts": {
        plugins: ["typescript", "typescript-operations"],
        config: { strictScalars: true, scalars: { DateTime: "string" } },
      },
    },
  },
  false,
);
for (const wanted of ["ArticlePageQuery", "RecordViewMutation", "DateTime: { input: string; output: string; }"]) {
  if (!output.content.includes(wanted)) throw new Error(`codegen output lacks ${wanted}`);
}
console.log(`GraphQL Code Generator: ok (${output.content.length} bytes of types)`);
