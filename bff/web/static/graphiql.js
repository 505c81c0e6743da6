// The BFF's GraphiQL page. Everything it loads comes from this server (/static/vendor/,
// copied from npm by scripts/setup-web), so it works on a machine with no internet.
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  var config = JSON.parse(document.getElementById("bff-graphiql-config").textContent);

  function fail(message) {
    root.textContent = "";
    var pre = document.createElement("pre");
    pre.className = "bff-graphiql-error";
    pre.textContent = message;
    root.appendChild(pre);
  }

  var globals = { React: "react", ReactDOM: "react-dom", GraphiQL: "graphiql",
                  GraphiQLPluginExplorer: "@graphiql/plugin-explorer", graphqlWs: "graphql-ws" };
  var absent = Object.keys(globals).filter(function (name) { return !window[name]; });
  if (absent.length) {
    fail("GraphiQL could not start: " + absent.map(function (n) { return globals[n]; }).join(", ") +
         " did not load from /static/vendor/.\n\nInstall GraphiQL's files with scripts/setup " +
         "(it runs scripts/setup-web), then reload this page.");
    return;
  }

  var url = window.location.origin + window.location.pathname;
  var subscriptionUrl = url.replace(/^http/, "ws");

  // Kept from Strawberry's page: a CSRF cookie, when a proxy in front of the BFF sets one.
  var baseHeaders = {};
  var csrf = window.Cookies && window.Cookies.get("csrftoken");
  if (csrf) baseHeaders["x-csrftoken"] = csrf;

  // The websocket has no HTTP headers: graphql-transport-ws carries them in the
  // connection_init payload, which the BFF reads as {"authorization": "Bearer ..."}.
  // One client per distinct set of headers, so a new token in the editor reconnects.
  var ws = null;
  var wsKey = null;

  function connectionParams(headers) {
    var params = {};
    Object.keys(headers || {}).forEach(function (key) {
      params[key.toLowerCase()] = headers[key];
    });
    return params;
  }

  function wsClient(headers) {
    var params = connectionParams(headers);
    var key = JSON.stringify(params);
    if (ws === null || key !== wsKey) {
      if (ws !== null) ws.dispose();
      ws = graphqlWs.createClient({
        url: subscriptionUrl,
        connectionParams: params,
        lazy: true,
        retryAttempts: 2,
      });
      wsKey = key;
    }
    return ws;
  }

  // Queries and mutations over HTTP with the editor's headers, subscriptions over the
  // websocket: GraphiQL's own fetcher picks the transport per operation.
  function fetcher(params, options) {
    var headers = Object.assign({}, baseHeaders, (options && options.headers) || {});
    var inner = GraphiQL.createFetcher({ url: url, headers: baseHeaders, wsClient: wsClient(headers) });
    return inner(params, options);
  }

  var props = {
    fetcher: fetcher,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    defaultTabs: config.tabs,
    defaultHeaders: config.headers,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    inputValueDeprecation: true,
  };
  // On a first visit GraphiQL 3.8 opens the first tab with an empty variables editor
  // (it ignores that tab's variables); later visits restore the saved tabs instead.
  var saved = null;
  try { saved = window.localStorage.getItem("graphiql:tabState"); } catch (e) { /* no storage */ }
  if (!saved && config.tabs.length) props.variables = config.tabs[0].variables;

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
