/*!
 * Frontline help centre: search as you type. The pages work without it (the search form
 * submits to /help/search); with it, the header's search box lists up to 3 matching articles
 * from GET /api/suggest while the visitor types (debounced), as a list of links announced in
 * a polite live region. Down arrow from the box reaches them; Up/Down move between them;
 * Escape goes back to the box. Nothing from the service is parsed as HTML.
 */
(function () {
  "use strict";

  const DEBOUNCE_MS = 250;
  const MIN_CHARS = 3;

  function init() {
    const input = document.getElementById("q");
    const box = document.getElementById("q-suggestions");
    const status = document.getElementById("q-status");
    if (!input || !box || !status) return;
    const list = box.querySelector("ul");
    const endpoint = input.dataset.suggest || "/api/suggest";
    let timer = null;
    let controller = null;
    let asked = "";

    function links() {
      return Array.from(list.querySelectorAll("a"));
    }

    function hide() {
      box.hidden = true;
      list.textContent = "";
      status.textContent = "";
    }

    function show(query, suggestions) {
      list.textContent = "";
      for (const s of suggestions) {
        const id = String(s.id || "");
        if (!id) continue;
        const anchor = /#([^#\s]+)$/.exec(String(s.url || ""));
        const link = document.createElement("a");
        link.href = "/help/" + encodeURIComponent(id) + (anchor ? "#" + anchor[1] : "");
        const title = document.createElement("strong");
        title.textContent = String(s.title || id);
        const snippet = document.createElement("span");
        snippet.textContent = String(s.snippet || "");
        link.append(title, snippet);
        const item = document.createElement("li");
        item.append(link);
        list.append(item);
      }
      const n = list.children.length;
      box.hidden = n === 0;
      status.textContent = n
        ? n + (n === 1 ? " suggested article" : " suggested articles") + " for “" + query +
          "”. Press Down to reach them."
        : "";
    }

    async function fetchSuggestions(query) {
      if (controller) controller.abort();
      controller = new AbortController();
      try {
        const response = await fetch(endpoint + "?q=" + encodeURIComponent(query), {
          signal: controller.signal, credentials: "same-origin",
        });
        if (!response.ok) return hide(); // rate-limited or refused: the form still works
        const body = await response.json();
        if (query !== asked) return; // the visitor typed on meanwhile
        show(query, Array.isArray(body.suggestions) ? body.suggestions : []);
      } catch (e) {
        if (e.name !== "AbortError") hide();
      }
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      const query = input.value.trim();
      asked = query;
      if (query.length < MIN_CHARS) {
        if (controller) controller.abort();
        hide();
        return;
      }
      timer = setTimeout(() => fetchSuggestions(query), DEBOUNCE_MS);
    });

    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && !box.hidden && links().length) {
        event.preventDefault();
        links()[0].focus();
      } else if (event.key === "Escape" && !box.hidden) {
        hide();
      }
    });

    list.addEventListener("keydown", (event) => {
      const items = links();
      const at = items.indexOf(document.activeElement);
      if (at < 0) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        items[Math.min(items.length - 1, at + 1)].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (at === 0) input.focus();
        else items[at - 1].focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        input.focus();
        hide();
      }
    });

    // Clicking or tabbing away closes the list.
    document.addEventListener("click", (event) => {
      if (!box.contains(event.target) && event.target !== input) hide();
    });
    box.addEventListener("focusout", (event) => {
      if (!box.contains(event.relatedTarget) && event.relatedTarget !== input) hide();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
