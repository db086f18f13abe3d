// Apollo Client 4 (InMemoryCache, relayStylePagination, automatic persisted
// queries over GET) and urql with graphcache, against a live newsroom at the
// URL given: the contract's pages load, a list pages forward through the
// cache, and after recordView the cached viewCount is the server's. Any
// error, and any warning a client library prints, fails the run.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { parse, print } from "graphql";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, fetchExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";

const url = process.argv[2];
if (!url) throw new Error("usage: node caches.mjs http://host:port/graphql");

const warnings = [];
for (const level of ["warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    warnings.push(args.map(String).join(" "));
    original(...args);
  };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** The operation `name` from a contract file, alone in its document. */
function contract(file, name) {
  const text = readFileSync(new URL(`../../tests/contract/${file}`, import.meta.url), "utf8");
  const document = parse(text);
  const definitions = document.definitions.filter(
    (definition) => definition.kind !== "OperationDefinition" || definition.name?.value === name,
  );
  return gql(print({ ...document, definitions }));
}

const RECORD_VIEW = gql`
  mutation RecordViewForCaches($articleId: ID!) {
    recordView(articleId: $articleId) { viewCount article { id viewCount } }
  }
`;
const ARTICLE_VIEWS = gql`fragment ArticleViews on Article { id viewCount }`;
const LIST = gql`
  query ListForCaches($after: String) {
    articles(first: 3, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id slug } }
    }
  }
`;

const methods = [];
const recordingFetch = (input, init) => {
  methods.push(init?.method ?? "GET");
  return fetch(input, init);
};

async function apollo() {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const client = new ApolloClient({
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: url, fetch: recordingFetch }),
    ),
    cache: new InMemoryCache({
      typePolicies: { Query: { fields: { articles: relayStylePagination(["filter", "orderBy"]) } } },
    }),
  });
  const page = await client.query({
    query: contract("article-page.graphql", "ArticlePage"),
    variables: { slug: "city-night-bus" },
  });
  const article = page.data.article;
  check(article?.id, "Apollo: no article");
  check(methods.includes("GET"), `Apollo: persisted queries were not sent over GET (${methods})`);

  const viewed = await client.mutate({ mutation: RECORD_VIEW, variables: { articleId: article.id } });
  const served = viewed.data.recordView.viewCount;
  const cached = client.readFragment({
    id: client.cache.identify({ __typename: "Article", id: article.id }),
    fragment: ARTICLE_VIEWS,
  });
  check(cached?.viewCount === served, `Apollo: cached viewCount ${cached?.viewCount}, server ${served}`);

  const first = await client.query({ query: LIST });
  // As fetchMore does: the next page from the network, merged by the policy.
  await client.query({
    query: LIST,
    variables: { after: first.data.articles.pageInfo.endCursor },
    fetchPolicy: "network-only",
  });
  const merged = client.readQuery({ query: LIST });
  const slugs = merged.articles.edges.map((edge) => edge.node.slug);
  check(slugs.length === 6 && new Set(slugs).size === 6, `Apollo: relayStylePagination merged ${slugs}`);

  const refetched = await client.query({
    query: gql`query RefetchForCaches($id: ID!) { node(id: $id) { id ... on Article { viewCount } } }`,
    variables: { id: article.id },
    fetchPolicy: "network-only",
  });
  check(refetched.data.node.viewCount >= served, "Apollo: node(id:) did not refetch the article");
  console.log(`Apollo Client: ok (viewCount ${served} in the cache)`);
}

async function urql() {
  const client = new Client({
    url,
    fetch: globalThis.fetch,
    exchanges: [
      cacheExchange({
        // Objects without an id of their own live inside their parents.
        keys: {
          ViewCount: () => null,
          AddCommentPayload: () => null,
          ArticleConnection: () => null,
          ArticleEdge: () => null,
          CommentConnection: () => null,
          CommentEdge: () => null,
          PageInfo: () => null,
          CoverImage: () => null,
        },
        resolvers: { Query: { articles: relayPagination() } },
      }),
      fetchExchange,
    ],
  });
  const pageQuery = contract("article-page.graphql", "ArticlePage");
  const page = await client.query(pageQuery, { slug: "open-source-llm-lab-shenzhen" }).toPromise();
  check(!page.error, `urql: ${page.error}`);
  const id = page.data.article.id;
  const viewed = await client.mutation(RECORD_VIEW, { articleId: id }).toPromise();
  check(!viewed.error, `urql: ${viewed.error}`);
  const again = await client
    .query(pageQuery, { slug: "open-source-llm-lab-shenzhen" }, { requestPolicy: "cache-only" })
    .toPromise();
  const served = viewed.data.recordView.viewCount;
  check(
    again.data?.article?.viewCount === served,
    `urql: cached viewCount ${again.data?.article?.viewCount}, server ${served}`,
  );
  for (const [file, name, variables] of [
    ["home.graphql", "HomePage", {}],
    ["category-page.graphql", "CategoryPage", { slug: "technology" }],
  ]) {
    const result = await client.query(contract(file, name), variables).toPromise();
    check(!result.error, `urql ${name}: ${result.error}`);
  }
  console.log(`urql with graphcache: ok (viewCount ${served} in the cache)`);
}

await apollo();
await urql();
check(warnings.length === 0, `client libraries warned:\n${warnings.join("\n")}`);
