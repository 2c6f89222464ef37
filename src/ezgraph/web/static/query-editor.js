/* The query editor: YASGUI (vendored), configured to talk to this server only.
 *
 * Out of the box YASGUI can contact outside services. Each is switched off here:
 *  - class and property autocompletion ask Linked Open Vocabularies (lov.linkeddata.es):
 *    removed, only the "prefixes" (bundled list) and "variables" completers remain;
 *  - prefix autocompletion can fetch prefix.cc (prefixCcApi): left null, the bundled list is used;
 *  - a CORS proxy (corsProxy) and a link shortener (createShortLink): left unset;
 *  - the endpoint list offers DBpedia and Wikidata: replaced by this server's /sparql;
 *  - a shared link may name another endpoint (?endpoint=…): it is replaced by this server's.
 * Tabs are not persisted (persistenceId null): every visit starts from the shared query or the
 * starter query, followed by the example queries of the queries/ folder.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("editor-config");
  var root = document.getElementById("yasgui");
  if (!configElement || !root || !window.Yasgui) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var Yasgui = window.Yasgui;
  var Yasqe = Yasgui.Yasqe;
  var OFFLINE_COMPLETERS = ["prefixes", "variables"];

  // YASGUI deep-merges its configuration with its defaults, arrays index by index, so the
  // completer lists have to be cut in the defaults themselves, not overridden.
  [Yasqe.defaults, Yasgui.defaults.yasqe].forEach(function (defaults) {
    if (!defaults) {
      return;
    }
    var kept = (defaults.autocompleters || []).filter(function (name) {
      return OFFLINE_COMPLETERS.indexOf(name) >= 0;
    });
    defaults.autocompleters.length = 0;
    Array.prototype.push.apply(defaults.autocompleters, kept);
    defaults.prefixCcApi = null;
    defaults.createShortLink = undefined;
    defaults.value = config.starter;
  });
  Yasgui.defaults.corsProxy = undefined;
  Yasgui.defaults.endpointCatalogueOptions.getData = function () {
    return [{ endpoint: config.endpoint }];
  };
  Yasgui.defaults.requestConfig.endpoint = config.endpoint;

  var requestConfig = {
    endpoint: config.endpoint,
    method: "POST",
    acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
    acceptHeaderGraph: "text/turtle,*/*;q=0.9",
  };

  var yasgui = new Yasgui(root, {
    requestConfig: requestConfig,
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: config.endpoint }];
      },
    },
    copyEndpointOnNewTab: true,
    corsProxy: undefined,
    persistenceId: null,
    autofocus: true,
    tabName: "Query",
    populateFromUrl: function (tabConfig) {
      tabConfig.requestConfig.endpoint = config.endpoint;
      if (!tabConfig.name || tabConfig.name === "Query") {
        tabConfig.name = "Shared query";
      }
      return tabConfig;
    },
    yasqe: {
      value: config.starter,
      autocompleters: OFFLINE_COMPLETERS.slice(),
      prefixCcApi: null,
      createShortLink: undefined,
    },
  });

  // Every tab asks this server, whatever a shared link or the endpoint field said.
  function pinEndpoint(tab) {
    if (tab && tab.getEndpoint && tab.getEndpoint() !== config.endpoint) {
      tab.setEndpoint(config.endpoint);
    }
  }
  Object.keys(yasgui._tabs || {}).forEach(function (id) {
    pinEndpoint(yasgui.getTab(id));
  });
  yasgui.on("queryBefore", function (instance, tab) {
    pinEndpoint(tab);
  });

  var active = yasgui.getTab();
  config.examples.forEach(function (example) {
    yasgui.addTab(false, {
      name: example.title,
      yasqe: { value: example.query },
      requestConfig: requestConfig,
    });
  });
  if (active) {
    yasgui.selectTabId(active.getId());
  }
  // Result tables link IRIs to themselves; the data's own IRIs are answered by this server
  // (which may not be where the persistent base redirects to yet), so point those links here.
  if (config.dataBase && config.publicBase && config.dataBase !== config.publicBase) {
    var rebaseLinks = function () {
      var links = root.querySelectorAll('a[href^="' + config.dataBase + '"]');
      Array.prototype.forEach.call(links, function (link) {
        link.href = config.publicBase + link.getAttribute("href").slice(config.dataBase.length);
      });
    };
    new MutationObserver(rebaseLinks).observe(root, { childList: true, subtree: true });
  }
  window.ezgraphEditor = yasgui;
})();
