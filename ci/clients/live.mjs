// Live subscriptions with the clients frontends use, against a live newsroom
// at the URL given: graphql-ws alone (a view count arrives after a view; a
// bad subscription reaches the error sink with its code), Apollo Client 4
// with GraphQLWsLink (the subscription's result updates a watched query
// through the normalized cache), and urql's subscriptionExchange with
// graphcache (likewise). Any error, and any warning a client library
// prints, fails the run.
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";

const url = process.argv[2];
if (!url) throw new Error("usage: node live.mjs http://host:port/graphql");
const wsUrl = url.replace(/^http/, "ws");

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

/** Resolves with what `wait` gives, or fails after `ms`. */
function within(ms, what, wait) {
  return Promise.race([
    wait,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  ]);
}

async function post(query, variables) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  check(!body.errors, `${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function articleId(slug) {
  const data = await post("query($slug: String!) { article(slug: $slug) { id viewCount } }", { slug });
  return data.article;
}

async function recordView(id) {
  const data = await post("mutation($id: ID!) { recordView(articleId: $id) { viewCount } }", { id });
  return data.recordView.viewCount;
}

const VIEW_COUNT_CHANGED = `subscription ViewCountChanged($id: ID!) { viewCountChanged(articleId: $id) { id viewCount } }`;

function wsClient() {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}

// graphql-ws alone.
{
  const client = wsClient();
  const article = await articleId("open-source-llm-lab-shenzhen");
  // The subscription sends the count a second after it starts, then each
  // change: whenever the view lands, the served count arrives.
  const sent = [];
  let served = null;
  const arrived = new Promise((resolve, reject) => {
    client.subscribe(
      { query: VIEW_COUNT_CHANGED, variables: { id: article.id } },
      {
        next: (result) => {
          sent.push(result.data.viewCountChanged.viewCount);
          if (served !== null && sent.includes(served)) resolve();
        },
        error: reject,
        complete: () => {},
      },
    );
  });
  served = await recordView(article.id);
  await within(5000, `graphql-ws viewCountChanged (sent ${sent}, server ${served})`, Promise.race([
    arrived,
    new Promise((resolve) => {
      const poll = setInterval(() => {
        if (sent.includes(served)) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    }),
  ]));

  const refused = await within(
    5000,
    "graphql-ws error sink",
    new Promise((resolve) => {
      client.subscribe(
        { query: "subscription { commentPending { id } }" },
        { next: () => resolve(null), error: resolve, complete: () => resolve(null) },
      );
    }),
  );
  check(
    Array.isArray(refused) && refused[0]?.extensions?.code === "UNAUTHENTICATED",
    `graphql-ws: a moderator's subscription without a token gave ${JSON.stringify(refused)}`,
  );
  await client.dispose();
  console.log("graphql-ws: a view count arrived; a refused subscription reached the error sink");
}

// Apollo Client: the subscription's result lands in the normalized cache,
// so a query watching the article shows the new count.
{
  const ws = wsClient();
  const client = new ApolloClient({
    link: new GraphQLWsLink(ws),
    cache: new InMemoryCache(),
  });
  const http = new ApolloClient({ link: new HttpLink({ uri: url }), cache: client.cache });
  const article = await articleId("chip-packaging-breakthrough");
  const ARTICLE = gql`query LiveArticle($id: ID!) { article(id: $id) { id viewCount } }`;
  await http.query({ query: ARTICLE, variables: { id: article.id } });
  const watched = http.watchQuery({ query: ARTICLE, variables: { id: article.id }, fetchPolicy: "cache-only" });
  let shown = article.viewCount;
  const seen = [];
  watched.subscribe({ next: (result) => { shown = result.data?.article?.viewCount; seen.push(shown); } });
  const live = client.subscribe({ query: gql(VIEW_COUNT_CHANGED), variables: { id: article.id } });
  const failed = new Promise((_, reject) => live.subscribe({ next: () => {}, error: reject }));
  const served = await recordView(article.id);
  // The watched query, reading the cache only, shows the count once the
  // subscription's answer lands in the cache.
  await within(
    5000,
    `Apollo viewCountChanged (the watched query saw ${seen}, server ${served})`,
    Promise.race([
      failed,
      new Promise((resolve) => {
        const poll = setInterval(() => {
          if (shown === served) {
            clearInterval(poll);
            resolve();
          }
        }, 50);
      }),
    ]),
  );
  await ws.dispose();
  console.log("Apollo Client: a subscription updated a watched query through the cache");
}

// urql with graphcache: likewise.
{
  const ws = wsClient();
  const client = new Client({
    url,
    exchanges: [
      cacheExchange({}),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe(request, sink) }),
        }),
      }),
    ],
  });
  const article = await articleId("5g-rural-clinics");
  const ARTICLE = `query LiveArticle($id: ID!) { article(id: $id) { id viewCount } }`;
  await client.query(ARTICLE, { id: article.id }).toPromise();
  let served = null;
  const counts = [];
  const arrived = new Promise((resolve) => {
    const { unsubscribe } = client
      .subscription(VIEW_COUNT_CHANGED, { id: article.id })
      .subscribe((result) => {
        const count = result.data?.viewCountChanged?.viewCount;
        counts.push(count);
        if (served !== null && count === served) {
          unsubscribe();
          resolve(result);
        }
      });
  });
  served = await recordView(article.id);
  await within(
    5000,
    `urql viewCountChanged (sent ${counts}, server ${served})`,
    Promise.race([
      arrived,
      new Promise((resolve) => {
        const poll = setInterval(() => {
          if (counts.includes(served)) {
            clearInterval(poll);
            resolve();
          }
        }, 50);
      }),
    ]),
  );
  const cached = await client
    .query(ARTICLE, { id: article.id }, { requestPolicy: "cache-only" })
    .toPromise();
  check(
    cached.data?.article?.viewCount === served,
    `urql: cached viewCount ${cached.data?.article?.viewCount}, server ${served}`,
  );
  await ws.dispose();
  console.log("urql: a subscription updated graphcache");
}

check(warnings.length === 0, `client libraries warned:\n${warnings.join("\n")}`);
