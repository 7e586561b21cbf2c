// entry.jsx is the source of console/static/graphiql.{js,css}: GraphiQL
// (npm, versions pinned in package-lock.json) bundled by build.sh with
// esbuild, so the console needs no CDN and `go build` needs no Node.
//
// app.js mounts it with window.RowguardGraphiQL.mount(element, options)
// and keeps the role, the session variables and the admin secret: the
// fetcher it passes sends them as headers, so introspection (and with it
// completion and the docs) gives the picked role's schema.
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";

// memoryStorage keeps GraphiQL's tabs and history for the page's life
// only: the query the console starts with is the one app.js gives.
function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    clear: () => m.clear(),
    get length() {
      return m.size;
    },
  };
}

// mount renders GraphiQL into el. options:
//   fetcher(params) → Promise of the response JSON;
//   query, variables: the initial texts;
//   onEditQuery(text), onEditVariables(text): called as the user types.
// It returns {setFetcher, setQuery}: a new fetcher makes GraphiQL fetch
// the schema again (the role changed).
function mount(el, options) {
  const root = createRoot(el);
  const storage = memoryStorage();
  let props = {
    fetcher: options.fetcher,
    defaultQuery: options.query,
    query: options.query,
    variables: options.variables,
    onEditQuery: options.onEditQuery,
    onEditVariables: options.onEditVariables,
    isHeadersEditorEnabled: false,
    shouldPersistHeaders: false,
    storage,
  };
  const render = () => root.render(<GraphiQL {...props} />);
  render();
  return {
    setFetcher(fetcher) {
      props = { ...props, fetcher };
      render();
    },
    setQuery(query) {
      props = { ...props, query };
      render();
    },
  };
}

window.RowguardGraphiQL = { mount };
