// Starts GraphiQL against this server's /graphql. A `query` parameter in the
// page's address opens the editor with that query. Subscriptions run over a
// WebSocket to the same address, speaking graphql-transport-ws; an
// `Authorization` header from the headers editor goes in connection_init.
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
  var overHttp = GraphiQL.createFetcher({ url: window.location.pathname });

  // Whether the operation GraphiQL runs is a subscription.
  function isSubscription(graphQLParams, options) {
    var document = options && options.documentAST;
    if (document && document.definitions) {
      var operations = document.definitions.filter(function (definition) {
        return definition.kind === 'OperationDefinition';
      });
      var chosen = operations.find(function (operation) {
        return graphQLParams.operationName
          ? operation.name && operation.name.value === graphQLParams.operationName
          : true;
      });
      return Boolean(chosen && chosen.operation === 'subscription');
    }
    return /^\s*subscription\b/m.test(graphQLParams.query || '');
  }

  // One subscription over its own WebSocket, as an async iterable of
  // results, which GraphiQL shows one after another.
  function subscribe(graphQLParams, headers) {
    var queue = [];
    var waiting = null;
    var finished = false;
    function push(item) {
      if (finished) return;
      if (item.done) finished = true;
      if (waiting) {
        var resolve = waiting;
        waiting = null;
        resolve(item);
      } else {
        queue.push(item);
      }
    }
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    var socket = new WebSocket(
      scheme + window.location.host + window.location.pathname,
      'graphql-transport-ws'
    );
    socket.onopen = function () {
      var payload = {};
      var authorization = headers && (headers.Authorization || headers.authorization);
      if (authorization) payload.Authorization = authorization;
      socket.send(JSON.stringify({ type: 'connection_init', payload: payload }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: graphQLParams }));
        window.newsroomSubscribed = true;
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'next') {
        push({ value: message.payload, done: false });
      } else if (message.type === 'error') {
        push({ value: { errors: message.payload }, done: false });
        push({ value: undefined, done: true });
        socket.close(1000);
      } else if (message.type === 'complete') {
        push({ value: undefined, done: true });
        socket.close(1000);
      }
    };
    socket.onclose = function (event) {
      if (event.code !== 1000) {
        push({
          value: { errors: [{ message: 'The live connection closed (' + event.code + '): ' + event.reason }] },
          done: false,
        });
      }
      push({ value: undefined, done: true });
    };
    var iterator = {
      next: function () {
        if (queue.length) return Promise.resolve(queue.shift());
        if (finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise(function (resolve) {
          waiting = resolve;
        });
      },
      return: function () {
        finished = true;
        socket.close(1000);
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  function fetcher(graphQLParams, options) {
    if (isSubscription(graphQLParams, options)) {
      return subscribe(graphQLParams, options && options.headers);
    }
    return overHttp(graphQLParams, options);
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: params.get('query') || defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
