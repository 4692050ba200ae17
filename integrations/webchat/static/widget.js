/*!
 * Frontline chat widget — one tag, no dependencies, no build step.
 *
 *   <script src="https://HOST/widget.js" data-frontline-url="https://HOST"
 *           data-title="Help" data-color="#1f5fbf" defer></script>
 *
 * Optional attributes: data-frontline-url (default: this script's origin), data-title,
 * data-color (any CSS colour; text on it is white or near-black, whichever passes WCAG AA),
 * data-welcome (the locally shown first message), data-max-chars (default 50000).
 *
 * While a customer types their first message, up to 3 matching help articles from
 * GET /api/suggest are offered (debounced) above the message box; one can be opened, in a new
 * tab, before anything is sent (its link carries ?from=suggest, so the help centre counts the
 * view as a suggestion opened). Down arrow from the box reaches them.
 *
 * Prefilling: a page URL with ?ask=<text>, or a click on any element of the page with a
 * data-frontline-ask="<text>" attribute, opens the chat with that text typed in the message box
 * (not sent). The ask parameter is then removed from the address bar.
 *
 * Styles go in a constructed stylesheet (adoptedStyleSheets) where the browser has them, and
 * inline styles are set through the CSSOM, so the widget works under a strict
 * Content-Security-Policy (style-src 'self').
 *
 * Everything lives in a shadow root, so the page's styles cannot break the widget and the
 * widget's styles cannot leak into the page. No message or page data is ever parsed as HTML:
 * all message DOM is built with createElement/textContent, the small Markdown subset (bold,
 * lists, links) is parsed into nodes, and only http(s) links become anchors.
 */
(function () {
  "use strict";

  if (window.__frontlineWidget) return; // the tag was included twice
  window.__frontlineWidget = true;

  // ------------------------------------------------------------------ configuration

  const script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-frontline-url], script[src*="widget.js"]');
  const data = (script && script.dataset) || {};
  const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  const BASE = String(data.frontlineUrl || scriptOrigin).replace(/\/+$/, "");
  const TITLE = data.title || "Help";
  const WELCOME = data.welcome ||
    "Hi! Ask me anything and I'll look in our help centre. I can also file a ticket for you, " +
    "or you can talk to a person from our support team at any time.";
  const DEFAULT_COLOR = "#1f5fbf";

  const HANDOFF = { message: "/human_handoff", title: "Talk to a person" };
  const TITLE_MAX = 300; // the service's limit for a button title

  // Live updates are polled rather than pushed (SSE/websocket). Polling works through any proxy,
  // CDN or corporate firewall, survives service restarts and deploys without reconnect logic,
  // needs no sticky connections between load-balanced replicas, and is cheap at this rate: one
  // small indexed query per open widget every 3 s, every 15 s while closed, nothing at all for
  // visitors who never started a conversation.
  const POLL_OPEN_MS = 3000;
  const POLL_CLOSED_MS = 15000;
  const POLL_MAX_MS = 30000; // ceiling of the poll back-off while the service is unreachable
  // A conversation idle for a day is not polled while the panel is closed (it is still checked
  // once per page load and polled whenever the panel is open): otherwise every page view of
  // anyone who ever chatted would poll forever.
  const IDLE_MS = 24 * 3600 * 1000;
  const RETRY_MAX_S = 30; // send retries back off 2, 4, 8, 16, 30, 30 … seconds
  const SEND_TIMEOUT_MS = 45000;
  const POLL_TIMEOUT_MS = 10000;
  const SUGGEST_DEBOUNCE_MS = 300;
  const SUGGEST_MIN_CHARS = 3;
  const SUGGEST_MAX_CHARS = 500; // enough to match on; the rest is not sent while typing
  const SUGGEST_TIMEOUT_MS = 5000;

  const SENT_FAILED_NOTICE =
    "Can't reach support right now — your message is saved and will be sent when the connection is back";
  const POLL_FAILED_NOTICE = "Can't reach support right now — trying again…";

  const KEYS = {
    session: "frontline:session:" + BASE,
    outbox: "frontline:outbox:" + BASE,
    seen: "frontline:seen:" + BASE,
    active: "frontline:active:" + BASE,
    open: "frontline:open:" + BASE,
  };

  // ------------------------------------------------------------------ storage

  // localStorage can be unavailable (blocked cookies, some private modes): fall back to memory.
  function makeStore(kind) {
    const memory = new Map();
    let backend = null;
    try {
      backend = window[kind];
      const probe = "frontline:probe";
      backend.setItem(probe, "1");
      backend.removeItem(probe);
    } catch (e) {
      backend = null;
    }
    return {
      get(key) {
        try { return backend ? backend.getItem(key) : (memory.has(key) ? memory.get(key) : null); }
        catch (e) { return null; }
      },
      set(key, value) {
        try { if (backend) backend.setItem(key, value); else memory.set(key, value); }
        catch (e) { memory.set(key, value); }
      },
      remove(key) {
        try { if (backend) backend.removeItem(key); } catch (e) { /* ignore */ }
        memory.delete(key);
      },
    };
  }
  const local = makeStore("localStorage");
  const perTab = makeStore("sessionStorage");

  function readJSON(key, fallback) {
    try {
      const value = JSON.parse(local.get(key));
      return value == null ? fallback : value;
    } catch (e) {
      return fallback;
    }
  }

  function newSessionId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const SESSION_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

  // ------------------------------------------------------------------ colours (WCAG AA)

  function luminance(rgb) {
    const c = rgb.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  function mix(rgb, target, amount) {
    return rgb.map((v, i) => Math.round(v + (target[i] - v) * amount));
  }

  const css = (rgb) => "rgb(" + rgb.join(", ") + ")";
  const WHITE = [255, 255, 255];
  const INK = [17, 24, 39]; // near-black text
  const BOT_BUBBLE = [240, 242, 245];

  /** ``color`` darkened (or lightened) just enough to reach ``ratio`` against ``background``. */
  function withContrast(color, background, ratio) {
    if (contrast(color, background) >= ratio) return color;
    const toward = luminance(background) > 0.5 ? [0, 0, 0] : WHITE;
    for (let step = 1; step <= 20; step++) {
      const candidate = mix(color, toward, step / 20);
      if (contrast(candidate, background) >= ratio) return candidate;
    }
    return toward;
  }

  /** Brand colour, text on it (white or near-black, whichever contrasts more; the brand is
   * darkened if neither reaches 4.5:1), and the brand as text on white and on bot bubbles. */
  function palette(brand) {
    let text = contrast(WHITE, brand) >= contrast(INK, brand) ? WHITE : INK;
    if (contrast(text, brand) < 4.5) {
      brand = text === WHITE ? withContrast(brand, WHITE, 4.5) : withContrast(brand, INK, 4.5);
    }
    return {
      brand: brand,
      onBrand: text,
      accent: withContrast(brand, BOT_BUBBLE, 4.5), // links on bot bubbles, focus rings, buttons
    };
  }

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child != null) node.append(child);
    }
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    down: "M6 9l6 6 6-6",
    send: "M3 11.5L21 3l-8.5 18-2-7.5z",
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    svg.classList.add("icon", "icon-" + name);
    return svg;
  }

  /** An http(s) URL as a string, or null for anything else (javascript:, data:, relative…). */
  function safeUrl(value) {
    try {
      const url = new URL(String(value));
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function externalLink(href, label) {
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer" },
      label, el("span", { class: "sr", text: " (opens in a new tab)" }));
  }

  // ------------------------------------------------------------------ Markdown subset

  const INLINE = /\*\*(?=\S)([\s\S]*?\S)\*\*|\[([^\]\n]+)\]\(([^()\s]+)\)/g;

  /** Inline Markdown (``**bold**``, ``[title](https://…)``) appended to ``parent`` as nodes. */
  function inline(text, parent) {
    let last = 0;
    INLINE.lastIndex = 0;
    for (let m = INLINE.exec(text); m; m = INLINE.exec(text)) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1] !== undefined) {
        const strong = el("strong");
        inlineNoBold(m[1], strong);
        parent.append(strong);
      } else {
        const href = safeUrl(m[3]);
        parent.append(href ? externalLink(href, m[2]) : m[0]); // unsafe: shown as typed
      }
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  function inlineNoBold(text, parent) {
    const LINK = /\[([^\]\n]+)\]\(([^()\s]+)\)/g;
    let last = 0;
    for (let m = LINK.exec(text); m; m = LINK.exec(text)) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      const href = safeUrl(m[2]);
      parent.append(href ? externalLink(href, m[1]) : m[0]);
      last = LINK.lastIndex;
    }
    if (last < text.length) parent.append(text.slice(last));
  }

  const BULLET = /^\s*[-*•]\s+(.*)$/;
  const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;

  /** The Markdown subset as a DocumentFragment: paragraphs, "- " and "1. " lists, inline. */
  function markdown(text) {
    const out = document.createDocumentFragment();
    const blocks = String(text).replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/);
    for (const block of blocks) {
      let para = null;
      let list = null;
      let listKind = "";
      for (const line of block.split("\n")) {
        const bullet = BULLET.exec(line);
        const numbered = bullet ? null : NUMBERED.exec(line);
        if (bullet || numbered) {
          const kind = bullet ? "ul" : "ol";
          if (!list || listKind !== kind) {
            list = el(kind);
            listKind = kind;
            if (numbered && numbered[1] !== "1") list.setAttribute("start", numbered[1]);
            out.append(list);
          }
          const item = el("li");
          inline(bullet ? bullet[1] : numbered[2], item);
          list.append(item);
          para = null;
        } else if (list && /^\s{2,}\S/.test(line)) {
          list.lastChild.append(" ");
          inline(line.trim(), list.lastChild); // continuation of a list item
        } else if (line.trim()) {
          list = null;
          if (!para) {
            para = el("p");
            out.append(para);
          } else {
            para.append(el("br"));
          }
          inline(line, para);
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ styles

  const STYLE = `
:host { all: initial; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #111827; -webkit-font-smoothing: antialiased; text-align: left;
}
.sr { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
button { font: inherit; cursor: pointer; }
:focus { outline: none; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.icon { width: 24px; height: 24px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0; padding: 0;
  display: grid; place-items: center;
  background: var(--brand); color: var(--on-brand);
  box-shadow: 0 6px 24px rgba(17, 24, 39, .28), 0 1px 3px rgba(17, 24, 39, .2);
  transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.05); }
.launcher:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px;
  box-shadow: 0 0 0 6px #fff, 0 6px 24px rgba(17, 24, 39, .28); }
.launcher .icon { width: 28px; height: 28px; }
.launcher .icon-chat { fill: currentColor; stroke: none; }
.launcher .icon-down { display: none; }
.open .launcher .icon-chat { display: none; }
.open .launcher .icon-down { display: block; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #b91c1c; color: #fff; border: 2px solid #fff;
  font-size: 12px; font-weight: 700; line-height: 18px; text-align: center;
}
.panel {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483000;
  width: 380px; height: min(640px, calc(100vh - 112px)); max-height: calc(100vh - 112px);
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 16px;
  box-shadow: 0 12px 48px rgba(17, 24, 39, .25), 0 2px 6px rgba(17, 24, 39, .12);
}
.header {
  flex: none; display: flex; align-items: center; gap: 8px; padding: 14px 12px 14px 18px;
  background: var(--brand); color: var(--on-brand);
}
.heading { flex: 1; min-width: 0; }
.heading h2 { margin: 0; font-size: 17px; font-weight: 650; line-height: 1.25;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.heading p { margin: 2px 0 0; font-size: 13px; line-height: 1.3; }
.header button {
  border: 0; background: transparent; color: inherit; border-radius: 8px;
}
.header .person {
  padding: 7px 11px; font-size: 13px; font-weight: 600; white-space: nowrap;
  border: 1.5px solid currentColor; border-radius: 999px;
}
.header .person:hover, .header .close:hover { background: rgba(127, 127, 127, .18); }
.header .close { width: 36px; height: 36px; display: grid; place-items: center; padding: 0; }
.header :focus-visible { outline-color: currentColor; }
.log {
  flex: 1 1 auto; min-height: 0; overflow-y: auto; padding: 16px 14px 8px; background: #fff;
  overscroll-behavior: contain;
}
.msg { display: flex; flex-direction: column; align-items: flex-start; margin-top: 12px;
  max-width: 100%; }
.msg.cont { margin-top: 4px; }
.msg.customer { align-items: flex-end; }
.who { font-size: 12px; font-weight: 600; color: #4b5563; margin: 0 0 3px 4px; }
.bubble {
  max-width: 85%; padding: 9px 13px; border-radius: 16px; overflow-wrap: anywhere;
  background: #f0f2f5; color: #111827;
}
.bubble p { margin: 0; }
.bubble p + p, .bubble p + ul, .bubble p + ol, .bubble ul + p, .bubble ol + p { margin-top: 8px; }
.bubble ul, .bubble ol { margin: 4px 0 0; padding-left: 22px; }
.bubble li + li { margin-top: 2px; }
.bubble a { color: var(--accent); text-decoration: underline; text-underline-offset: 2px; }
.bot .bubble { border-bottom-left-radius: 6px; }
.customer .bubble {
  background: var(--brand); color: var(--on-brand); border-bottom-right-radius: 6px;
  white-space: pre-wrap;
}
.rep .bubble { background: #fef3c7; color: #111827; border: 1px solid #f5d77a;
  border-bottom-left-radius: 6px; }
.customer.unsent .bubble { opacity: .78; }
.status { font-size: 12px; margin: 3px 4px 0; color: #4b5563; }
.unsent .status { color: #9a3412; font-weight: 600; }
.links { list-style: none; margin: 6px 0 0; padding: 0; max-width: 85%; display: grid; gap: 6px; }
.links a, .links span.unsafe {
  display: flex; align-items: center; gap: 8px; padding: 8px 12px;
  border: 1px solid #d1d5db; border-radius: 10px; background: #fff;
  color: var(--accent); font-weight: 600; font-size: 14px; text-decoration: none;
}
.links a:hover { background: #f8fafc; border-color: var(--accent); }
.links a::after { content: "↗"; margin-left: auto; font-weight: 400; }
.links span.unsafe { color: #374151; font-weight: 400; }
.replies { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; max-width: 100%; }
.replies button {
  padding: 7px 13px; border-radius: 999px; background: #fff; color: var(--accent);
  border: 1.5px solid var(--accent); font-size: 14px; font-weight: 600; text-align: left;
}
.replies button:hover { background: var(--accent); color: #fff; }
.typing { display: inline-flex; gap: 4px; padding: 13px 14px; }
.typing span { width: 7px; height: 7px; border-radius: 50%; background: #6b7280;
  animation: blink 1.2s infinite ease-in-out; }
.typing span:nth-child(2) { animation-delay: .15s; }
.typing span:nth-child(3) { animation-delay: .3s; }
@keyframes blink { 0%, 80%, 100% { opacity: .3; transform: translateY(0); }
  40% { opacity: 1; transform: translateY(-3px); } }
@media (prefers-reduced-motion: reduce) {
  .typing span { animation: none; } .launcher { transition: none; }
}
.notice {
  flex: none; margin: 0 12px 8px; padding: 9px 12px; border-radius: 10px; font-size: 13.5px;
  background: #fff7ed; color: #7c2d12; border: 1px solid #fdba74;
  display: flex; gap: 10px; align-items: center; flex-wrap: wrap;
}
.notice p { margin: 0; flex: 1 1 200px; }
.notice button {
  padding: 5px 11px; border-radius: 8px; border: 1.5px solid #7c2d12; background: #fff;
  color: #7c2d12; font-size: 13px; font-weight: 600;
}
.composer { flex: none; border-top: 1px solid #e5e7eb; padding: 10px 12px 12px; background: #fff; }
.row { display: flex; align-items: flex-end; gap: 8px; }
textarea {
  flex: 1; resize: none; min-height: 44px; max-height: 140px; padding: 11px 13px;
  font: inherit; color: #111827; background: #fff; line-height: 1.4;
  border: 1.5px solid #6b7280; border-radius: 12px;
}
textarea::placeholder { color: #6b7280; }
textarea:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px;
  border-color: var(--accent); }
.send {
  width: 44px; height: 44px; flex: none; display: grid; place-items: center; padding: 0;
  border: 0; border-radius: 12px; background: var(--brand); color: var(--on-brand);
}
.send[aria-disabled="true"] { opacity: .55; cursor: not-allowed; }
.counter { font-size: 12px; color: #4b5563; text-align: right; margin-top: 4px; }
.counter.over { color: #b91c1c; font-weight: 700; }
.powered { font-size: 11.5px; color: #4b5563; text-align: center; margin-top: 6px; }
.suggest { flex: none; margin: 0 12px 8px; padding: 8px 0 2px; border-top: 1px solid #e5e7eb; }
.suggest h3 { margin: 0 2px 6px; font-size: 12px; font-weight: 600; color: #4b5563;
  text-transform: uppercase; letter-spacing: .04em; }
.suggest ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; }
.suggest a { display: block; padding: 7px 11px; border: 1px solid #d1d5db; border-radius: 10px;
  text-decoration: none; color: #111827; background: #fff; }
.suggest a:hover { border-color: var(--accent); background: #f8fafc; }
.suggest a strong { display: block; color: var(--accent); font-size: 14px; }
.suggest a span.snippet { display: block; font-size: 12.5px; color: #4b5563; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; max-height: none; border-radius: 0;
    right: 0; bottom: 0; }
  .open .launcher { display: none; }
  .launcher { right: 16px; bottom: 16px; }
}
`;

  // ------------------------------------------------------------------ the widget

  const host = document.createElement("frontline-chat");
  host.style.setProperty("all", "initial", "important");
  host.style.setProperty("display", "block", "important");
  const shadow = host.attachShadow({ mode: "open" });
  let constructed = null;
  try {
    constructed = new CSSStyleSheet();
    constructed.replaceSync(STYLE);
    shadow.adoptedStyleSheets = [constructed];
  } catch (e) {
    constructed = null; // older browsers: a <style> element (needs style-src 'unsafe-inline')
  }
  if (!constructed) shadow.append(el("style", { text: STYLE }));

  const root = el("div", { class: "root" });
  shadow.append(root);

  function resolveColor(value) {
    const probe = el("span");
    probe.style.color = "rgb(1, 2, 3)";
    probe.style.color = value || DEFAULT_COLOR;
    root.append(probe);
    const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(probe).color);
    probe.remove();
    const rgb = match ? [1, 2, 3].map((i) => Number(match[i])) : [31, 95, 191];
    return rgb.join() === "1,2,3" ? [31, 95, 191] : rgb;
  }

  // ---- launcher
  const badge = el("span", { class: "badge", "aria-hidden": "true", hidden: true });
  const launcher = el("button", {
    type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "frontline-panel",
  }, icon("chat"), icon("down"), badge);

  // ---- panel
  const personButton = el("button", { type: "button", class: "person", text: HANDOFF.title });
  const closeButton = el("button", { type: "button", class: "close", "aria-label": "Close chat" },
    icon("close"));
  const header = el("div", { class: "header" },
    el("div", { class: "heading" },
      el("h2", { text: TITLE, id: "frontline-title" }),
      el("p", { text: "We're here to help" })),
    personButton, closeButton);

  const log = el("div", {
    class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "Conversation", tabindex: "0",
  });

  const notice = el("div", { class: "notice", role: "alert", hidden: true });
  const input = el("textarea", {
    rows: "1", "aria-label": "Message", placeholder: "Type your message…",
    "aria-describedby": "frontline-counter", autocomplete: "off", enterkeyhint: "send",
  });
  const sendButton = el("button", { type: "submit", class: "send", "aria-label": "Send" },
    icon("send"));
  const counter = el("div", { class: "counter", id: "frontline-counter", hidden: true });
  // ---- suggested articles while the first message is typed
  const suggestList = el("ul", { "aria-labelledby": "frontline-suggest-title" });
  const suggestBox = el("div", { class: "suggest", hidden: true },
    el("h3", { id: "frontline-suggest-title", text: "Suggested articles" }), suggestList);
  const suggestStatus = el("div", { class: "sr", role: "status", "aria-live": "polite" });

  const form = el("form", { class: "composer", novalidate: true },
    el("div", { class: "row" }, input, sendButton), counter,
    el("div", { class: "powered", text: "Powered by Frontline" }));

  const panel = el("div", {
    class: "panel", id: "frontline-panel", role: "dialog", "aria-label": TITLE, hidden: true,
  }, header, log, notice, suggestBox, suggestStatus, form);

  // The panel comes before the launcher: Tab from the send button reaches the launcher (which
  // closes), Shift+Tab from the input walks back through the quick replies and messages.
  root.append(panel, launcher);

  function applyColors() {
    const colors = palette(resolveColor(data.color));
    root.style.setProperty("--brand", css(colors.brand));
    root.style.setProperty("--on-brand", css(colors.onBrand));
    root.style.setProperty("--accent", css(colors.accent));
  }

  // ------------------------------------------------------------------ state

  let sessionId = local.get(KEYS.session);
  if (sessionId && !SESSION_PATTERN.test(sessionId)) sessionId = null;
  let maxChars = Number(data.maxChars) > 0 ? Number(data.maxChars) : 50000;
  let lastId = 0; // newest message id seen from the service
  let seenId = Number(local.get(KEYS.seen)) || 0; // newest message id the customer has seen
  let isOpen = false;
  let sending = false; // a POST /chat is in flight
  let attempt = 0; // consecutive failed sends (back-off exponent)
  let retryTimer = null;
  let pollTimer = null;
  let pollFailures = 0;
  let restored = false; // the first history fetch has completed
  let started = false; // start() has restored the conversation
  let outbox = readJSON(KEYS.outbox, []).filter((i) => i && typeof i.message === "string");

  /** Entries in display order: {id, sender, text, buttons, links, node, state, key}.
   * state: "local" (welcome, notes), "synced" (has a service id), "pending"/"unsent" (in the
   * outbox), "provisional" (rendered from a POST reply, not yet matched to a history id). */
  const entries = [];
  const byId = new Map();

  // ------------------------------------------------------------------ rendering

  const SENDER_LABEL = { bot: "Assistant", customer: "You", rep: "Support team" };

  function renderEntry(entry) {
    const node = el("div", { class: "msg " + entry.sender });
    if (entry.sender === "rep") {
      const who = entry.author ? entry.author + " · Support team" : "Support team";
      node.append(el("div", { class: "who", text: who }));
    } else {
      node.append(el("span", { class: "sr", text: SENDER_LABEL[entry.sender] + ": " }));
    }
    const bubble = el("div", { class: "bubble" });
    if (entry.sender === "customer") bubble.textContent = entry.text;
    else bubble.append(markdown(entry.text));
    node.append(bubble);

    const links = (entry.links || []).filter((l) => l && l.url);
    if (links.length) {
      const list = el("ul", { class: "links", "aria-label": "Articles" });
      for (const link of links) {
        const href = safeUrl(link.url);
        const label = String(link.title || link.url);
        list.append(el("li", null, href ? externalLink(href, label)
          : el("span", { class: "unsafe", text: label + " (" + String(link.url) + ")" })));
      }
      node.append(list);
    }
    if (entry.sender === "customer") node.append(el("div", { class: "status", hidden: true }));
    entry.node = node;
    updateStatus(entry);
    return node;
  }

  function updateStatus(entry) {
    const status = entry.node && entry.node.querySelector(".status");
    if (!status) return;
    const unsent = entry.state === "unsent";
    entry.node.classList.toggle("unsent", unsent);
    status.hidden = !unsent;
    status.textContent = unsent ? (entry.waiting || "Not sent yet") : "";
  }

  function setText(entry, text) {
    if (entry.text === text) return;
    entry.text = text;
    const bubble = entry.node.querySelector(".bubble");
    bubble.textContent = "";
    if (entry.sender === "customer") bubble.textContent = text;
    else bubble.append(markdown(text));
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function classifyContinuation(entry, index) {
    const prev = index > 0 ? entries[index - 1] : null;
    entry.node.classList.toggle("cont", !!prev && prev.sender === entry.sender);
  }

  /** Insert ``entry`` before ``before`` (an entry) or at the end. */
  function addEntry(entry, before) {
    const stick = nearBottom();
    renderEntry(entry);
    const index = before ? entries.indexOf(before) : -1;
    if (index >= 0) {
      entries.splice(index, 0, entry);
      log.insertBefore(entry.node, before.node);
      classifyContinuation(before, index + 1);
    } else {
      entries.push(entry);
      log.insertBefore(entry.node, typing.parentNode === log ? typing : null);
    }
    classifyContinuation(entry, entries.indexOf(entry));
    if (entry.id) byId.set(entry.id, entry);
    if (stick || entry.sender === "customer") scrollToBottom();
    return entry;
  }

  function removeEntry(entry) {
    const index = entries.indexOf(entry);
    if (index >= 0) entries.splice(index, 1);
    entry.node.remove();
    if (entries[index]) classifyContinuation(entries[index], index);
  }

  /** Quick replies belong to the newest bot message of the conversation's last bot turn, and
   * only while the customer has not answered yet. */
  let repliesOwner = null;
  let repliesKey = "";

  function refreshQuickReplies() {
    let owner = null;
    for (let i = entries.length - 1; i >= 0 && entries[i].sender === "bot"; i--) {
      if ((entries[i].buttons || []).length) {
        owner = entries[i];
        break;
      }
    }
    // Unchanged: keep the very same buttons, so a poll never takes the keyboard focus away.
    const key = owner ? JSON.stringify(owner.buttons) : "";
    if (owner === repliesOwner && key === repliesKey) return;
    repliesOwner = owner;
    repliesKey = key;
    for (const old of log.querySelectorAll(".replies")) old.remove();
    if (!owner) return;
    const group = el("div", { class: "replies", role: "group", "aria-label": "Suggested replies" });
    for (const button of owner.buttons) {
      const title = String(button.title || button.payload || "");
      const payload = String(button.payload || button.title || "");
      if (!payload) continue;
      const node = el("button", { type: "button", text: title });
      node.addEventListener("click", (event) => {
        // The buttons disappear once used: keep the focus in the panel. A keyboard user goes on
        // typing; on a touch screen the log takes the focus so no keyboard pops up.
        const hadFocus = group.contains(shadow.activeElement);
        send(payload, title);
        if (event.detail === 0 || (hadFocus && !coarse.matches)) input.focus({ preventScroll: true });
        else if (hadFocus) log.focus({ preventScroll: true });
      });
      group.append(node);
    }
    const stick = nearBottom();
    owner.node.append(group);
    if (stick) scrollToBottom();
  }

  const typing = el("div", { class: "msg bot typing-row", "aria-hidden": "true" },
    el("div", { class: "bubble typing" }, el("span"), el("span"), el("span")));

  function showTyping(on) {
    if (on) {
      const stick = nearBottom();
      log.append(typing);
      if (stick) scrollToBottom();
    } else {
      typing.remove();
    }
  }

  let noticeKind = null;

  function showNotice(kind, text, withRetry) {
    noticeKind = kind;
    notice.textContent = "";
    notice.append(el("p", { text: text }));
    if (withRetry) {
      const retry = el("button", { type: "button", text: "Retry now" });
      retry.addEventListener("click", () => {
        attempt = Math.max(0, attempt - 1);
        clearTimeout(retryTimer);
        retryTimer = null;
        pump();
      });
      notice.append(retry);
    }
    notice.hidden = false;
  }

  function clearNotice(kind) {
    if (kind && noticeKind !== kind) return;
    noticeKind = null;
    notice.hidden = true;
    notice.textContent = "";
  }

  function updateCounter() {
    const length = input.value.trim().length;
    const show = length >= Math.floor(maxChars * 0.8);
    counter.hidden = !show;
    const over = length > maxChars;
    counter.classList.toggle("over", over);
    counter.textContent = show
      ? length + " / " + maxChars + (over ? " — " + (length - maxChars) + " too many" : "") : "";
    sendButton.setAttribute("aria-disabled", over ? "true" : "false");
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 3, 140) + "px";
  }

  function updateBadge() {
    let unread = 0;
    if (!isOpen) {
      for (const entry of entries) {
        if (entry.id > seenId && entry.sender !== "customer") unread++;
      }
    }
    badge.hidden = unread === 0;
    badge.textContent = unread > 9 ? "9+" : String(unread);
    launcher.setAttribute("aria-label", "Chat: " + TITLE + (unread ? " (" + unread + " unread)" : ""));
  }

  function markSeen() {
    if (lastId > seenId) {
      seenId = lastId;
      local.set(KEYS.seen, String(seenId));
    }
    updateBadge();
  }

  // ------------------------------------------------------------------ service calls

  async function request(path, options, timeout) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      const response = await fetch(BASE + path, Object.assign({
        credentials: "omit", cache: "no-store", signal: controller.signal,
      }, options));
      let body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      return { status: response.status, body: body, headers: response.headers };
    } finally {
      clearTimeout(timer);
    }
  }

  function detailOf(result, fallback) {
    return result.body && typeof result.body.detail === "string" && result.body.detail
      ? result.body.detail : fallback;
  }

  // ------------------------------------------------------------------ history sync

  function asMessage(raw) {
    return {
      id: Number(raw.id),
      sender: raw.sender === "customer" || raw.sender === "rep" ? raw.sender : "bot",
      text: String(raw.text || ""),
      buttons: Array.isArray(raw.buttons) ? raw.buttons : [],
      links: Array.isArray(raw.links) ? raw.links : [],
      author: typeof raw.author === "string" ? raw.author : "",
    };
  }

  /** Can history message ``m`` be the server's copy of the id-less entry ``entry``? */
  function sameMessage(entry, m) {
    if (entry.sender !== m.sender) return false;
    if (entry.state === "provisional" && m.sender === "customer") return true; // masked text
    return entry.text.trim() === m.text.trim();
  }

  /** Merge newer messages from ``GET /chat/history``: ids dedupe; messages this page rendered
   * before it knew their ids (its own sends and their replies) are matched in order instead of
   * being shown twice. */
  function merge(messages) {
    const waiting = () => entries.filter((e) => !e.id && e.state !== "local");
    let fresh = false;
    for (const raw of messages) {
      const m = asMessage(raw);
      if (!m.id || byId.has(m.id)) continue;
      const candidates = waiting();
      const match = candidates.find((e) => sameMessage(e, m));
      if (match) {
        // Earlier provisional bot entries that found no copy were notes the service does not
        // keep (e.g. "Sent to our support team"): they stay, as local notes.
        for (const e of candidates) {
          if (e === match) break;
          if (e.state === "provisional") e.state = "local";
        }
        match.id = m.id;
        match.buttons = m.buttons;
        match.links = m.links;
        if (match.state === "provisional") setText(match, m.text);
        if (match.state !== "unsent" && match.state !== "pending") match.state = "synced";
        byId.set(m.id, match);
      } else {
        const next = candidates.find((e) => e.state === "provisional" || e.state === "pending" ||
          e.state === "unsent");
        addEntry(Object.assign(m, { state: "synced" }), next || null);
        if (m.sender !== "customer") fresh = true;
      }
      lastId = Math.max(lastId, m.id);
    }
    refreshQuickReplies();
    if (fresh) touch();
    if (isOpen) markSeen();
    else updateBadge();
  }

  /** After a complete sync, a reply still without an id is a note the service does not keep
   * ("Sent to our support team — they'll reply here."): it stays, as a local note. */
  function settleProvisional() {
    for (const e of entries) if (e.state === "provisional") e.state = "local";
  }

  let chain = Promise.resolve();

  /** Fetch and merge messages newer than ``lastId`` (one request at a time). */
  function sync() {
    const run = async () => {
      if (!sessionId) return;
      const query = "?session_id=" + encodeURIComponent(sessionId) + "&after=" + lastId;
      const result = await request("/chat/history" + query, { method: "GET" }, POLL_TIMEOUT_MS);
      if (result.status !== 200 || !result.body || !Array.isArray(result.body.messages)) {
        throw new Error("history: HTTP " + result.status);
      }
      merge(result.body.messages);
      restored = true;
    };
    chain = chain.then(run, run);
    return chain;
  }

  function touch() {
    local.set(KEYS.active, String(Date.now()));
  }

  function pollDelay() {
    const base = isOpen && !document.hidden ? POLL_OPEN_MS : POLL_CLOSED_MS;
    return Math.min(POLL_MAX_MS, base * Math.pow(2, Math.min(pollFailures, 4)));
  }

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (!sessionId) return; // nobody to poll for until the first message
    const idle = Date.now() - (Number(local.get(KEYS.active)) || 0) > IDLE_MS;
    if (!isOpen && idle && restored) return;
    pollTimer = setTimeout(poll, delay == null ? pollDelay() : delay);
  }

  async function poll() {
    pollTimer = null;
    // Paused while a send is in flight or waiting to be retried: the send syncs when it is done.
    if (sending || outbox.length) return;
    try {
      await sync();
      // Nothing was in flight, so that history holds every message the service stored.
      if (!sending && !outbox.length) settleProvisional();
      pollFailures = 0;
      clearNotice("poll");
    } catch (e) {
      pollFailures++;
      if (isOpen && pollFailures >= 2 && !noticeKind) showNotice("poll", POLL_FAILED_NOTICE, false);
    }
    if (!sending && !outbox.length) schedulePoll();
  }

  // ------------------------------------------------------------------ sending

  function saveOutbox() {
    if (outbox.length) local.set(KEYS.outbox, JSON.stringify(outbox.map((i) => ({
      key: i.key, message: i.message, title: i.title || null,
    }))));
    else local.remove(KEYS.outbox);
  }

  function ensureSession() {
    if (!sessionId) {
      sessionId = newSessionId();
      local.set(KEYS.session, sessionId);
    }
  }

  /** Queue one message (typed text, or a button's payload and title) and send the queue. */
  function send(message, title) {
    hideSuggestions(); // they are for the first message only
    ensureSession();
    const item = {
      key: newSessionId(),
      message: message,
      title: title ? String(title).slice(0, TITLE_MAX) : null,
    };
    outbox.push(item);
    saveOutbox();
    touch();
    item.entry = addEntry({
      sender: "customer", text: title || message, state: "pending", key: item.key,
    });
    refreshQuickReplies();
    clearTimeout(pollTimer);
    if (!retryTimer) pump();
    else markUnsent(item, "Not sent yet");
  }

  function markUnsent(item, label) {
    if (!item.entry) return;
    item.entry.state = "unsent";
    item.entry.waiting = label;
    updateStatus(item.entry);
  }

  function backoffSeconds() {
    return Math.min(RETRY_MAX_S, Math.pow(2, attempt));
  }

  function scheduleRetry(seconds) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      pump();
    }, seconds * 1000);
  }

  /** Send the outbox in order, one POST at a time; failures keep the message and retry. */
  async function pump() {
    if (sending || !outbox.length) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    sending = true;
    clearTimeout(pollTimer);
    const item = outbox[0];
    if (item.entry && item.entry.state === "unsent") {
      item.entry.waiting = "Sending…";
      updateStatus(item.entry);
    }
    showTyping(true);
    let result = null;
    try {
      const body = { session_id: sessionId, message: item.message };
      if (item.title) body.title = item.title;
      if (item.key) body.client_id = String(item.key); // a retried send is stored once
      result = await request("/chat", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      }, SEND_TIMEOUT_MS);
    } catch (e) {
      result = null; // network error, CORS refusal, timeout
    }
    showTyping(false);
    sending = false;
    const status = result ? result.status : 0;

    if (status === 200) {
      attempt = 0;
      outbox.shift();
      saveOutbox();
      clearNotice();
      if (item.entry) {
        item.entry.state = item.entry.id ? "synced" : "provisional";
        updateStatus(item.entry);
      }
      // Replies go before messages still queued behind this one, as the service orders them.
      const queued = entries.find((e) => e.state === "pending" || e.state === "unsent");
      const replies = result.body && Array.isArray(result.body.messages) ? result.body.messages : [];
      for (const reply of replies) {
        addEntry({
          sender: "bot", text: String(reply.text || ""), buttons: reply.buttons || [],
          links: reply.links || [], state: "provisional",
        }, queued || null);
      }
      refreshQuickReplies();
      touch();
      try {
        await sync(); // learn the ids of what was just said, and anything a rep sent meanwhile
        settleProvisional();
      } catch (e) { /* the next poll will catch up */ }
      if (isOpen) markSeen();
      if (outbox.length) pump();
      else schedulePoll();
      return;
    }

    if (status === 413 || status === 422 || (status >= 400 && status < 500 && status !== 408 &&
        status !== 429)) {
      // The service refused this message for good: give it back for editing.
      outbox.shift();
      saveOutbox();
      if (item.entry) removeEntry(item.entry);
      refreshQuickReplies();
      const detail = detailOf(result, "This message could not be sent.");
      if (status === 413) {
        const limit = /limit is (\d+)/.exec(detail);
        if (limit) maxChars = Number(limit[1]);
      }
      if (!item.title) {
        input.value = input.value.trim() ? item.message + "\n" + input.value : item.message;
        autosize();
        updateCounter();
      }
      showNotice("refused", detail, false);
      if (isOpen) input.focus();
      if (outbox.length) pump();
      else schedulePoll();
      return;
    }

    if (status === 429) {
      const wait = Math.max(1, Number(result.headers.get("Retry-After")) || 10);
      for (const queued of outbox) markUnsent(queued, "Waiting to send");
      showNotice("rate", detailOf(result, "Too many messages; trying again shortly.") +
        " — your message will be sent in " + wait + " s.", false);
      scheduleRetry(wait);
      return;
    }

    // Network error, timeout or 5xx: keep everything and retry with back-off.
    attempt++;
    for (const queued of outbox) markUnsent(queued, "Not sent yet");
    showNotice("offline", SENT_FAILED_NOTICE, true);
    scheduleRetry(backoffSeconds());
  }

  // ------------------------------------------------------------------ suggested articles

  let suggestTimer = null;
  let suggestSeq = 0; // only the answer to the newest request is shown
  let suggestShown = "";

  /** Suggestions are for the first message only: nothing sent yet, nothing queued. */
  function suggesting() {
    return !sessionId && !outbox.length && !sending;
  }

  function suggestLinks() {
    return Array.from(suggestList.querySelectorAll("a"));
  }

  function hideSuggestions() {
    clearTimeout(suggestTimer);
    suggestSeq++;
    suggestShown = "";
    suggestBox.hidden = true;
    suggestList.textContent = "";
    suggestStatus.textContent = "";
  }

  function showSuggestions(query, suggestions) {
    suggestList.textContent = "";
    for (const s of suggestions.slice(0, 3)) {
      if (!s || !s.id) continue;
      // The help page on the service this widget talks to (its own links name
      // FRONTLINE_PUBLIC_URL, which a deployment may have left at its default), at the
      // matching section, marked as a suggestion opened.
      const section = /#([^#\s]+)$/.exec(String(s.url || ""));
      const href = safeUrl(BASE + "/help/" + encodeURIComponent(String(s.id)) + "?from=suggest" +
        (section ? "#" + section[1] : ""));
      if (!href) continue;
      const link = el("a", { href: href, target: "_blank", rel: "noopener" },
        el("strong", { text: String(s.title || s.id || href) }),
        s.snippet ? el("span", { class: "snippet", text: String(s.snippet) }) : null,
        el("span", { class: "sr", text: " (opens in a new tab)" }));
      suggestList.append(el("li", null, link));
    }
    const n = suggestList.children.length;
    suggestBox.hidden = n === 0;
    suggestShown = n ? query : "";
    suggestStatus.textContent = n ? n + (n === 1 ? " suggested article" : " suggested articles") +
      ". Press Down to reach " + (n === 1 ? "it" : "them") + "." : "";
  }

  function scheduleSuggestions() {
    clearTimeout(suggestTimer);
    const query = input.value.trim().slice(0, SUGGEST_MAX_CHARS);
    if (!suggesting() || query.length < SUGGEST_MIN_CHARS) {
      hideSuggestions();
      return;
    }
    if (query === suggestShown) return;
    const seq = ++suggestSeq;
    suggestTimer = setTimeout(async () => {
      let result = null;
      try {
        result = await request("/api/suggest?q=" + encodeURIComponent(query), { method: "GET" },
          SUGGEST_TIMEOUT_MS);
      } catch (e) {
        result = null; // offline or refused: no suggestions, the chat works as before
      }
      if (seq !== suggestSeq || !suggesting()) return;
      const list = result && result.status === 200 && result.body &&
        Array.isArray(result.body.suggestions) ? result.body.suggestions : [];
      if (list.length) showSuggestions(query, list);
      else hideSuggestions();
    }, SUGGEST_DEBOUNCE_MS);
  }

  suggestList.addEventListener("keydown", (event) => {
    const items = suggestLinks();
    const at = items.indexOf(shadow.activeElement);
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
      event.stopPropagation(); // back to the message box; the panel stays open
      input.focus();
    }
  });

  // ------------------------------------------------------------------ prefill

  /** Open the chat with ``text`` typed in the message box (not sent). */
  function prefill(text) {
    const value = String(text || "").slice(0, maxChars);
    open({ focus: false });
    if (value) {
      input.value = value;
      autosize();
      updateCounter();
      scheduleSuggestions();
    }
    input.focus();
    try {
      const end = input.value.length;
      input.setSelectionRange(end, end);
    } catch (e) { /* ignore */ }
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-frontline-ask]")
      : null;
    if (!target || event.defaultPrevented || event.button !== 0 || event.metaKey ||
        event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    prefill(target.getAttribute("data-frontline-ask"));
  });

  // ------------------------------------------------------------------ open / close

  function open(options) {
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    perTab.set(KEYS.open, "1");
    updateMode();
    scrollToBottom();
    markSeen();
    if (!options || options.focus !== false) input.focus();
    if (started && !sending && !outbox.length) schedulePoll(0);
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    perTab.set(KEYS.open, "0");
    updateBadge();
    launcher.focus();
    if (!sending && !outbox.length) schedulePoll();
  }

  const phone = window.matchMedia("(max-width: 480px)");
  const coarse = window.matchMedia("(pointer: coarse)");

  // Full screen on a phone covers the page, so the dialog is modal there; on larger screens it
  // floats beside the page and does not trap focus.
  function updateMode() {
    panel.setAttribute("aria-modal", phone.matches ? "true" : "false");
  }

  function focusables() {
    return Array.from(panel.querySelectorAll(
      'button, a[href], textarea, [tabindex]:not([tabindex="-1"])'
    )).filter((n) => !n.disabled && n.getClientRects().length);
  }

  // ------------------------------------------------------------------ events

  launcher.addEventListener("click", () => (isOpen ? close() : open()));
  closeButton.addEventListener("click", close);
  personButton.addEventListener("click", () => send(HANDOFF.message, HANDOFF.title));

  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen) {
      event.preventDefault();
      close();
    } else if (event.key === "Tab" && isOpen && phone.matches) {
      const items = focusables();
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      const active = shadow.activeElement;
      if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "ArrowDown" && !suggestBox.hidden && !input.value.includes("\n")) {
      const first = suggestLinks()[0];
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  input.addEventListener("input", () => {
    autosize();
    updateCounter();
    if (noticeKind === "refused") clearNotice("refused");
    scheduleSuggestions();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    input.focus();
  });

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    if (text.length > maxChars) {
      showNotice("refused", "Your message is " + text.length + " characters; the limit is " +
        maxChars + ". Please shorten it.", false);
      return;
    }
    input.value = "";
    autosize();
    updateCounter();
    clearNotice("refused");
    send(text);
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !sending && !outbox.length) schedulePoll(0);
  });
  window.addEventListener("online", () => {
    if (outbox.length && !sending) pump();
  });
  // Another tab of the same site started a conversation or sent from the outbox.
  window.addEventListener("storage", (event) => {
    if (event.key === KEYS.session && event.newValue && !sessionId) {
      sessionId = event.newValue;
      schedulePoll(0);
    }
  });
  (phone.addEventListener ? phone.addEventListener.bind(phone, "change") : phone.addListener.bind(phone))(updateMode);

  // ------------------------------------------------------------------ start

  async function start() {
    document.body.append(host);
    applyColors(); // needs the host in the document to resolve the colour
    addEntry({ sender: "bot", text: WELCOME, state: "local" });
    updateBadge();
    updateCounter();
    if (perTab.get(KEYS.open) === "1") open({ focus: false });

    if (sessionId) {
      try {
        await sync(); // restore the conversation (after a reload or on another page)
      } catch (e) {
        pollFailures = 1;
      }
      restored = true;
    }
    // Messages typed while offline on an earlier page view: show them and send them.
    for (const item of outbox) {
      if (!item.key) item.key = newSessionId();
      item.entry = addEntry({ sender: "customer", text: item.title || item.message,
        state: "unsent", key: item.key, waiting: "Not sent yet" });
    }
    refreshQuickReplies();
    if (isOpen) markSeen();
    else updateBadge();
    started = true;
    const ask = new URLSearchParams(location.search).get("ask");
    if (ask !== null) {
      prefill(ask);
      try { // a reload should not type it again
        const url = new URL(location.href);
        url.searchParams.delete("ask");
        history.replaceState(history.state, "", url.pathname + url.search + url.hash);
      } catch (e) { /* ignore */ }
    }
    if (outbox.length) {
      ensureSession();
      pump();
    } else {
      schedulePoll();
    }
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
