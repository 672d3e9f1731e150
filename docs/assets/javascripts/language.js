/* The visitor's language on the site: the browser's first, or the one chosen with the switcher
 * (remembered in this browser only). It orders article lists (the visitor's language first),
 * says when an article exists only in another language, and is sent to the API as
 * Accept-Language so its messages come back in that language (kb.js reads kbLanguage()).
 * Words here are the site's own, one set per language; nothing from the server is inserted as HTML. */
(function () {
  "use strict";

  var KEY = "kb-lang";
  var LANGUAGES = ["zh-Hans", "zh-Hant", "en"];
  var NAMES = { "zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English" };
  var WORDS = {
    "zh-Hans": { language: "语言", search: "搜索", onlyIn: { "zh-Hans": "本文只有中文版。", "zh-Hant": "本文只有中文（繁体）版。",
                                             "en": "本文只有英文版。" } },
    "zh-Hant": { language: "語言", search: "搜尋", onlyIn: { "zh-Hans": "本文只有中文（簡體）版。", "zh-Hant": "本文只有中文版。",
                                             "en": "本文只有英文版。" } },
    "en": { language: "Language", search: "Search", onlyIn: { "zh-Hans": "This article exists only in Chinese.",
                                            "zh-Hant": "This article exists only in Chinese.",
                                            "en": "This article exists only in English." } }
  };

  // The same reading of a language tag as the API's (intake_api/i18n.py: supported).
  function supported(tag) {
    if (!tag) return null;
    if (LANGUAGES.indexOf(tag) >= 0) return tag;
    var low = String(tag).toLowerCase().replace(/_/g, "-");
    if (/^zh-(hant|tw|hk|mo)/.test(low)) return "zh-Hant";
    if (low === "zh" || low.indexOf("zh-") === 0) return "zh-Hans";
    if (low === "en" || low.indexOf("en-") === 0) return "en";
    return null;
  }

  function stored() {
    try { return supported(localStorage.getItem(KEY)); } catch (e) { return null; }
  }

  function fromBrowser() {
    var tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (var i = 0; i < tags.length; i++) {
      var lang = supported(tags[i]);
      if (lang) return lang;
    }
    return "zh-Hans";
  }

  function language() { return stored() || fromBrowser(); }

  // An id marked for the catalogues (kb_builder/site_words.py reads every kbN call): words the site's configuration
  // shows, built in Simplified Chinese (mkdocs.yml: the site's name, the "was this page helpful?" widget).
  function kbN(id) { return id; }
  var CONFIGURED = [kbN("Employee Help Center"), kbN("Was this page helpful?"), kbN("Helpful"), kbN("Not helpful"),
                    kbN("Thanks for your feedback!"), kbN("Thanks, we will improve this article. Not solved?")];

  // The theme's words, the builder's (nav, generated titles) and category names are built in Simplified
  // Chinese. Each is looked up by that text: the theme's in its own translations (kbThemeWords, from
  // mkdocs-material's language partials), the builder's in the site catalogue (kbWords), categories in
  // kb.yml's names (#kb-labels). Only the site's frame is read, never an article's text.
  var FRAME = ".md-header, .md-tabs, .md-sidebar, .md-footer, .md-top, .md-skip, .md-search, .md-feedback, " +
              ".md-source-file, .md-content__inner > h1, .kb-label, .md-clipboard, .md-dialog";
  var FRAME_ATTRIBUTES = ["title", "aria-label", "placeholder"];
  var originals = new WeakMap();  // node -> {text or attribute name: the built text}

  // Simplified Chinese has one word where the others have two (标签: the theme's "Tabs", the nav's "Tags"):
  // attributes are the theme's (aria-label, title), so its words come first there; text is ours first.
  function frameTable(lang, themeFirst) {
    var sources = [], table = {};
    var theme = window.kbThemeWords || {};
    sources.push(Object.keys(theme).map(function (key) { return [theme[key]["zh-Hans"], theme[key][lang]]; }));
    var words = window.kbWords || {}, built = words["zh-Hans"] || {}, mine = words[lang] || {};
    // Where ids share a Simplified word (提交投诉: the button's "Submit", the nav's "Submit a complaint"), the
    // longer, more specific id is the frame's.
    sources.push(Object.keys(built).filter(function (id) { return mine[id]; })
      .sort(function (a, b) { return b.length - a.length; })
      .map(function (id) { return [built[id], mine[id]]; }));
    var labels = {};
    try { labels = JSON.parse((document.getElementById("kb-labels") || {}).textContent || "{}"); } catch (e) { labels = {}; }
    sources.push(Object.keys(labels).map(function (zh) { return [zh, lang === "zh-Hans" ? zh : labels[zh][lang] || zh]; }));
    if (!themeFirst) sources.reverse();
    sources.forEach(function (pairs) {
      pairs.forEach(function (pair) { if (!(pair[0] in table)) table[pair[0]] = pair[1]; });
    });
    return table;
  }

  function built(node, name, current) {
    var known = originals.get(node) || {};
    if (!(name in known)) { known[name] = current; originals.set(node, known); }
    return known[name];
  }

  function swap(table, text) {
    var trimmed = text.trim();
    if (!trimmed || !(trimmed in table)) return null;
    return text.replace(trimmed, table[trimmed]);
  }

  function translateFrame(lang) {
    var table = frameTable(lang, false), themes = frameTable(lang, true);
    document.querySelectorAll(FRAME).forEach(function (root) {
      [root].concat(Array.prototype.slice.call(root.querySelectorAll("*"))).forEach(function (el) {
        FRAME_ATTRIBUTES.forEach(function (name) {
          if (!el.hasAttribute(name)) return;
          var text = swap(themes, built(el, name, el.getAttribute(name)));
          if (text !== null) el.setAttribute(name, text);
        });
      });
      var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (var node = walker.nextNode(); node; node = walker.nextNode()) {
        var text = swap(table, built(node, "text", node.nodeValue));
        if (text !== null) node.nodeValue = text;
      }
    });
    // The window's title: "page - site", each part by itself.
    var title = built(document, "title", document.title);
    document.title = title.split(" - ").map(function (part) { return swap(table, part) || part; }).join(" - ");
    document.querySelectorAll(".md-header, .md-tabs, .md-footer, .md-top, .md-skip, .md-search")
      .forEach(function (el) { el.setAttribute("lang", lang); });
  }

  // Material reads the words of its search results and copy buttons from #__config once, when its bundle
  // starts: this script runs just before it (overrides/main.html), so they are the visitor's from the start.
  function configureTheme(lang) {
    var node = document.getElementById("__config");
    var theme = window.kbThemeWords || {};
    if (!node) return;
    try {
      var config = JSON.parse(node.textContent);
      Object.keys(config.translations || {}).forEach(function (key) {
        if (theme[key]) config.translations[key] = theme[key][lang];
      });
      node.textContent = JSON.stringify(config);
    } catch (e) { /* the theme's own words stay as built */ }
  }

  function family(lang) { return lang === "en" ? "en" : "zh"; }

  // Article links carry hreflang (kb_builder/pages.py): the visitor's language first, order kept otherwise.
  function orderLists(lang) {
    document.querySelectorAll(".md-content ul").forEach(function (list) {
      var items = Array.prototype.filter.call(list.children, function (li) {
        return li.querySelector(":scope > a[hreflang]");
      });
      if (items.length < 2) return;
      var rank = function (li) {
        var of = li.querySelector(":scope > a[hreflang]").getAttribute("hreflang");
        return of === lang ? 0 : family(of) === family(lang) ? 1 : 2;
      };
      items.map(function (li, i) { return { li: li, key: rank(li) * 100000 + i }; })
        .sort(function (a, b) { return a.key - b.key; })
        .forEach(function (x) { list.appendChild(x.li); });
    });
  }

  function noteOtherLanguage(lang) {
    var content = document.documentElement.getAttribute("data-kb-content-language");
    var old = document.getElementById("kb-language-note");
    if (old) old.remove();
    if (!content || family(content) === family(lang)) return;
    var article = document.querySelector(".md-content article");
    if (!article) return;
    var note = document.createElement("p");
    note.id = "kb-language-note";
    note.className = "kb-language-note";
    note.setAttribute("lang", lang);
    note.textContent = WORDS[lang].onlyIn[content];
    var title = article.querySelector("h1");
    article.insertBefore(note, title ? title.nextSibling : article.firstChild);
  }

  function switcher(lang) {
    var header = document.querySelector(".md-header__inner");
    if (!header || document.getElementById("kb-language")) return;
    var label = document.createElement("label");
    label.className = "kb-language";
    label.setAttribute("for", "kb-language");
    var text = document.createElement("span");
    text.className = "kb-language__label";
    text.textContent = WORDS[lang].language;
    var select = document.createElement("select");
    select.id = "kb-language";
    LANGUAGES.forEach(function (code) {
      var option = document.createElement("option");
      option.value = code;
      option.lang = code;
      option.textContent = NAMES[code];
      option.selected = code === lang;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      try { localStorage.setItem(KEY, select.value); } catch (e) { /* private mode: this page only */ }
      apply(select.value);
    });
    label.appendChild(text);
    label.appendChild(select);
    var search = header.querySelector(".md-search");
    header.insertBefore(label, search || null);
  }

  function apply(lang) {
    document.documentElement.setAttribute("data-kb-lang", lang);
    var text = document.querySelector(".kb-language__label");
    if (text) text.textContent = WORDS[lang].language;
    var search = document.querySelector(".md-search[role=dialog]");  // the theme's dialog has no name of its own
    if (search) search.setAttribute("aria-label", WORDS[lang].search);
    translatePage();
    translateFrame(lang);
    orderLists(lang);
    noteOtherLanguage(lang);
    document.dispatchEvent(new CustomEvent("kb-language", { detail: lang }));
  }

  window.kbLanguage = function () { return document.documentElement.getAttribute("data-kb-lang") || language(); };

  // A word of the site in the visitor's language (words.js, from the catalogues); %(name)s filled from vars.
  window.kbT = function (id, vars) {
    var table = (window.kbWords || {})[window.kbLanguage()] || {};
    var text = table[id] || id;
    return text.replace(/%\((\w+)\)s/g, function (all, name) {
      return vars && vars[name] !== undefined ? String(vars[name]) : all;
    });
  };

  // The pages' own words: marked with their id (data-kb-t, data-kb-placeholder), shown in Chinese without script.
  function translatePage() {
    document.querySelectorAll("[data-kb-t]").forEach(function (node) {
      node.textContent = window.kbT(node.getAttribute("data-kb-t"));
    });
    document.querySelectorAll("[data-kb-placeholder]").forEach(function (node) {
      node.setAttribute("placeholder", window.kbT(node.getAttribute("data-kb-placeholder")));
    });
  }

  function init() {
    var lang = language();
    switcher(lang);
    apply(lang);
  }

  configureTheme(language());
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
