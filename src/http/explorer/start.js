// Starts GraphiQL against this server's /graphql. A `query` parameter in the
// page's address opens the editor with that query.
(function () {
  var params = new URLSearchParams(window.location.search);
  var defaultQuery = [
    '# Welcome to newsroom. Press the run button (or Ctrl-Enter).',
    '{',
    '  categories { slug name children { slug name } }',
    '  articles(first: 3) { edges { node { slug title summary publishedAt viewCount } } }',
    '}',
    '',
  ].join('\n');
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: params.get('query') || defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
