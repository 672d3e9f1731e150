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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
