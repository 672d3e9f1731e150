/* The complaint form and the status page: suggestions while typing,
 * "this solved my problem" deflections, submission, tracking-code look-up,
 * photos and files sent with the tracking code (after submitting, and in the thread).
 * Server data is only ever inserted with textContent, never as HTML. */
(function () {
  "use strict";

  // The site's words in the visitor's language (language.js, catalogues in words.js); the id is the English.
  var kbT = window.kbT || function (id) { return id; };
  var kbN = function (id) { return id; };  // an id translated where it is shown

  var DEBOUNCE_MS = 300;
  var MIN_CHARS = 2;

  function apiBase() {
    var meta = document.querySelector('meta[name="kb-api-base"]');
    var base = (meta && meta.content) || "";
    return base.replace(/\/+$/, "");
  }

  function siteRoot() {
    // Material publishes the relative path to the site root in #__config.
    try {
      var cfg = JSON.parse(document.getElementById("__config").textContent);
      return new URL(cfg.base + "/", location.href);
    } catch (e) {
      return new URL("/", location.href);
    }
  }

  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    if (window.kbLanguage) options.headers["Accept-Language"] = window.kbLanguage();  // language.js
    return fetch(apiBase() + path, options).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        return { status: res.status, body: body };
      });
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function articleHref(url) {
    // Only site-internal paths: never follow a scheme such as javascript:.
    if (typeof url !== "string" || /^[a-z][a-z0-9+.-]*:/i.test(url) || url.indexOf("//") === 0) return "#";
    return new URL(url.replace(/^\/+/, ""), siteRoot()).href;
  }

  /* --------------------------------------------------------------- files */

  // The API's limits (GET /api/v1/meta): checked here to save a wasted upload; the server decides.
  var fileLimits = { max_bytes: 10 * 1024 * 1024, max_files: 10, types: "JPEG, PNG, GIF, WebP, PDF, plain text" };
  var fileLimitsLoaded = null;

  function loadFileLimits() {
    if (!fileLimitsLoaded) {
      fileLimitsLoaded = api("/api/v1/meta").then(function (r) {
        if (r.body && r.body.attachments) fileLimits = r.body.attachments;
        return r;
      }).catch(function () { return { status: 0, body: {} }; });
    }
    return fileLimitsLoaded;
  }

  function sizeText(n) {
    if (n >= 1048576) return (Math.round(n / 104857.6) / 10) + " MB";
    return Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function limitsText() {
    return kbT("At most %(size)s each, %(count)s files (%(types)s).",
               { size: sizeText(fileLimits.max_bytes), count: fileLimits.max_files, types: fileLimits.types });
  }

  // One file, one request (so each stays within the limit), with upload progress: fetch has none.
  function uploadFile(code, file, text, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", apiBase() + "/api/v1/complaints/" + encodeURIComponent(code) + "/attachments");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        resolve({ status: xhr.status, body: body });
      };
      xhr.onerror = function () { resolve({ status: 0, body: {} }); };
      var data = new FormData();
      data.append("file", file, file.name);
      if (text) data.append("text", text);
      xhr.send(data);
    });
  }

  // A line per file: its name (as text), a progress bar, then "uploaded" or why not.
  function fileRow(file) {
    var li = el("li", { "class": "kb-file" });
    li.appendChild(el("span", { "class": "kb-file-name" }, file.name + " (" + sizeText(file.size) + ")"));
    var bar = el("progress", { max: "100", value: "0" });
    li.appendChild(bar);
    var state = el("span", { "class": "kb-file-state" }, kbT("Waiting"));
    li.appendChild(state);
    return {
      li: li,
      progress: function (f) { bar.value = Math.round(f * 100); state.textContent = bar.value + "%"; },
      done: function () { bar.value = 100; state.className = "kb-file-done"; state.textContent = kbT("Uploaded"); },
      fail: function (message) { bar.hidden = true; state.className = "kb-file-error"; state.textContent = message; }
    };
  }

  // Files one after another into `list`; `text` goes with the first that arrives.
  // Resolves with how many arrived and failed, the last status view and the text if no file took it.
  function uploadAll(code, files, list, text) {
    var outcome = { sent: 0, failed: 0, last: null, text: text || null };
    var rows = files.map(function (f) { var row = fileRow(f); list.appendChild(row.li); return row; });
    return files.reduce(function (chain, file, i) {
      return chain.then(function () {
        var row = rows[i];
        if (file.size > fileLimits.max_bytes) {
          outcome.failed++;
          row.fail(kbT("Too large: at most %(size)s", { size: sizeText(fileLimits.max_bytes) }));
          return null;
        }
        return uploadFile(code, file, outcome.text, row.progress).then(function (r) {
          if (r.status === 201) {
            outcome.sent++;
            outcome.last = r.body;
            outcome.text = null;
            row.done();
          } else {
            outcome.failed++;
            row.fail(r.body.error || (r.status ? kbT("Upload failed (%(status)s)", { status: r.status })
                                                : kbT("Network error")));
          }
        });
      });
    }, Promise.resolve()).then(function () { return outcome; });
  }

  /* ---------------------------------------------------------------- form */

  function initComplaintForm(form) {
    if (form.dataset.kbReady) return;
    form.dataset.kbReady = "1";
    var description = form.querySelector("#kb-description");
    var panel = document.getElementById("kb-suggestions");
    var list = document.getElementById("kb-suggestion-list");
    var result = document.getElementById("kb-result");
    var sensitivePanel = document.getElementById("kb-sensitive");
    var emergency = document.getElementById("kb-emergency");
    var categorySelect = form.querySelector("#kb-category");
    var sensitiveCategories = {};
    var categoryContacts = {};
    var categoryOptional = {};  // kb.yml categories[].optional, from /api/v1/meta: the API checks the same
    var identity = form.querySelector("#kb-identity");
    // "Shown" is what was on screen when the employee submitted, plus what they opened:
    // not every list that flashed past while they typed.
    var onScreen = [];
    var opened = [];
    var nothing = document.getElementById("kb-no-answer");
    var liveStatus = document.getElementById("kb-suggest-status");
    // What a screen reader hears while the employee types: one short line, said only when it changes.
    function say(text) {
      if (liveStatus && liveStatus.textContent !== text) liveStatus.textContent = text;
    }
    // One key per complaint: a retried submission (double click, flaky network)
    // is answered with the first acknowledgement instead of creating a second complaint.
    var idempotencyKey = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(36).slice(2);
    // A random token kept in this browser, no identity: a complaint from the same browser within 7 days of
    // "this solved it" makes that a false deflection in the review. Without storage, no token is sent.
    var browserToken = null;
    try {
      browserToken = localStorage.getItem("kb-browser-token");
      if (!browserToken) {
        browserToken = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
          : "b" + String(Date.now()) + Math.random().toString(36).slice(2);
        localStorage.setItem("kb-browser-token", browserToken);
      }
    } catch (e) { browserToken = null; }
    var timer = null;
    var seq = 0;

    loadFileLimits().then(function (r) {
      var select = form.querySelector("#kb-category");
      (r.body.categories || []).forEach(function (c) {
        select.appendChild(el("option", { value: c.id }, c.label || c.zh));  // in the visitor's language
        if (c.sensitive) sensitiveCategories[c.id] = true;
        if (c.emergency_contact) categoryContacts[c.id] = c.emergency_contact;
        categoryOptional[c.id] = c.optional || [];
      });
      var departments = form.querySelector("#kb-about-department");
      (r.body.departments || []).forEach(function (d) {
        departments.appendChild(el("option", { value: d.id }, d.label || d.zh));
      });
      fromArticle(select);
      markOptional();
    });

    // "Where" and "What do you ask for?" are optional where the category makes them meaningless: no
    // asterisk, no `required`, "(optional)" in the label instead.
    function markOptional() {
      var optional = categoryOptional[categorySelect.value] || [];
      [["request", "#kb-request"], ["location", "#kb-location"]].forEach(function (pair) {
        var control = form.querySelector(pair[1]);
        var label = form.querySelector('label[for="' + control.id + '"]');
        var free = optional.indexOf(pair[0]) >= 0;
        control.required = !free;
        label.querySelector(".kb-required").hidden = free;
        label.querySelector(".kb-optional").hidden = !free;
      });
    }
    categorySelect.addEventListener("change", markOptional);

    // A counter under each long text instead of a silent cut at the limit; said aloud only near the limit.
    form.querySelectorAll("textarea[data-kb-max]").forEach(function (area) {
      var max = parseInt(area.getAttribute("data-kb-max"), 10);
      var counter = el("p", { "class": "kb-counter", id: area.id + "-count" });
      area.parentNode.insertBefore(counter, area.nextSibling);
      area.setAttribute("aria-describedby", counter.id);
      var update = function () {
        var n = area.value.length;
        counter.textContent = kbT("%(count)s of %(max)s characters", { count: n, max: max });
        counter.classList.toggle("kb-counter--over", n > max);
        if (n > max * 0.9) counter.setAttribute("aria-live", "polite"); else counter.removeAttribute("aria-live");
      };
      area.addEventListener("input", update);
      update();
    });

    // "Not solved?" on an article opens the form with #from=<id>&category=<id>&title=<title>: its category
    // chosen, "I read …" begun, and the article counted among those seen before submitting.
    function fromArticle(select) {
      var given = {};
      location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
        var at = pair.indexOf("=");
        if (at > 0) given[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1));
      });
      if (!given.from) return;
      if (given.category && select.querySelector('option[value="' + CSS.escape(given.category) + '"]')) {
        select.value = given.category;
      }
      var description = form.querySelector("#kb-description");
      if (given.title && !description.value) {
        description.value = kbT("I read “%(title)s”, but ", { title: given.title.slice(0, 200) });
      }
      if (opened.indexOf(given.from) < 0) opened.push(given.from.slice(0, 100));
    }

    var fileInput = form.querySelector("#kb-files");
    var fileList = form.querySelector("#kb-file-list");
    var fileLimitsNote = form.querySelector("#kb-files-limits");
    function chosenFiles() {
      return fileInput ? Array.prototype.slice.call(fileInput.files || []) : [];
    }
    function checkFiles() {
      var slot = form.querySelector('.kb-error[data-for="file"]');
      var files = chosenFiles();
      fileList.textContent = "";
      files.forEach(function (f) {
        var big = f.size > fileLimits.max_bytes;
        var li = el("li", {}, f.name + " (" + sizeText(f.size) + ")");
        if (big) li.appendChild(el("span", { "class": "kb-file-error" }, kbT("too large")));
        fileList.appendChild(li);
      });
      var problem = "";
      if (files.length > fileLimits.max_files) {
        problem = kbT("At most %(count)s files", { count: fileLimits.max_files });
      } else if (files.some(function (f) { return f.size > fileLimits.max_bytes; })) {
        problem = kbT("At most %(size)s per file", { size: sizeText(fileLimits.max_bytes) });
      }
      if (slot) slot.textContent = problem;
      return !problem;
    }
    if (fileInput) {
      loadFileLimits().then(function () {
        if (fileLimitsNote) fileLimitsNote.textContent = limitsText();
        if (!fileLimits.max_files) form.querySelector("#kb-attach").hidden = true;
      });
      fileInput.addEventListener("change", checkFiles);
    }

    function render(items) {
      list.textContent = "";
      items.forEach(function (item) {
        var li = el("li", { "class": "kb-suggestion", "data-article-id": item.id });
        var link = el("a", { href: articleHref(item.url), target: "_blank", rel: "noopener" }, item.title);
        link.addEventListener("click", function () {
          if (opened.indexOf(item.id) >= 0) return;
          opened.push(item.id);
          if (navigator.sendBeacon) navigator.sendBeacon(apiBase() + "/api/v1/events", new Blob([JSON.stringify({
            kind: "article_opened", article_ids: [item.id], query: description.value.trim().slice(0, 200)
          })], { type: "application/json" }));
        });
        li.appendChild(link);
        if (item.snippet) li.appendChild(el("p", { "class": "kb-snippet" }, item.snippet));
        var solved = el("button", { type: "button", "class": "md-button kb-solved" },
          kbT("This solved it"));
        solved.addEventListener("click", function () { deflect(item); });
        li.appendChild(solved);
        list.appendChild(li);
      });
      onScreen = items.map(function (item) { return item.id; });
      panel.hidden = items.length === 0;
      if (items.length === 1) say(kbT("1 article may help"));
      else if (items.length) say(kbT("%(count)s articles may help", { count: items.length }));
    }

    function shown() {
      return onScreen.concat(opened.filter(function (id) { return onScreen.indexOf(id) < 0; })).slice(0, 50);
    }

    // Nothing confident for a real text: say so in one line and invite the submission.
    function showNothing(on) {
      if (nothing) nothing.hidden = !on;
      if (on) say(kbT("Nothing matches yet"));
      else if (!onScreen.length) say("");
    }

    // Harassment, discrimination, misconduct, danger: no articles, a person handles it.
    function showSensitive(on, contact, propose) {
      sensitivePanel.hidden = !on;
      emergency.hidden = !contact;
      emergency.textContent = contact || "";
      if (on) render([]);
      if (on && propose) proposeDisclosure(propose);
    }

    // Before submit, a complaint about a person is proposed as confidential
    // (once: an employee who then picks Named again keeps Named).
    var proposed = false;
    function proposeDisclosure(value) {
      if (proposed || disclosure() !== "named") return;
      var radio = form.querySelector("#kb-disclosure-" + value);
      if (!radio) return;
      proposed = true;
      radio.checked = true;
      radio.dispatchEvent(new Event("change"));
      document.getElementById("kb-disclosure").classList.add("kb-proposed");
      var note = document.getElementById("kb-disclosure-note");
      if (note) note.hidden = false;
    }

    // Once the text read as sensitive, it stays so while the employee keeps
    // typing (half-typed words read either way): only a clearly ordinary text,
    // several characters longer, brings articles back. No FAQ list flashes.
    var sticky = null;

    function suggest() {
      var text = description.value.trim();
      var category = categorySelect.value;
      if (text.length < MIN_CHARS) {
        render([]);
        showNothing(false);
        sticky = null;
        if (sensitiveCategories[category]) showSensitive(true, categoryContacts[category], "confidential");
        else showSensitive(false);
        return;
      }
      if (sticky && text.indexOf(sticky.text.slice(0, 2)) !== 0) sticky = null;
      var mine = ++seq;
      // In a POST body: a long description in the URL is refused (414) and its suggestions would vanish.
      var query = { q: text.slice(0, 2000), limit: 5 };
      if (category) query.category = category;
      api("/api/v1/suggest", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(query)
      }).then(function (r) {
        if (mine !== seq) return; // a newer request is on its way
        if (r.body.sensitive) {
          showNothing(false);
          sticky = { text: text, contact: r.body.emergency_contact, propose: r.body.propose_disclosure };
          showSensitive(true, r.body.emergency_contact, r.body.propose_disclosure);
          return;
        }
        if (sticky && (r.body.hold || text.length < sticky.text.length + 6)) {
          showNothing(false);
          showSensitive(true, sticky.contact, sticky.propose);
          return;
        }
        sticky = null;
        if (r.body.hold) { showNothing(false); showSensitive(false); render([]); return; }
        showSensitive(false);
        var items = r.status === 200 ? (r.body.results || []) : [];
        render(items);
        showNothing(r.status === 200 && items.length === 0);
      }).catch(function () { render([]); showNothing(false); });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(suggest, DEBOUNCE_MS);
    }
    description.addEventListener("input", later);

    // Suggestions seen but neither used nor followed by a complaint: one anonymous event per visit.
    var finished = false;
    window.addEventListener("pagehide", function () {
      if (finished || !shown().length || !navigator.sendBeacon) return;
      navigator.sendBeacon(apiBase() + "/api/v1/events", new Blob([JSON.stringify({
        kind: "suggestions_shown", article_ids: shown().slice(0, 20), query: description.value.trim().slice(0, 200)
      })], { type: "application/json" }));
    });
    categorySelect.addEventListener("change", later);

    function deflect(item) {
      api("/api/v1/deflections", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ article_id: item.id, query: description.value.trim().slice(0, 500),
                               browser_token: browserToken })
      }).finally(function () {
        finished = true;
        form.hidden = true;
        result.hidden = false;
        result.textContent = "";
        result.appendChild(el("h3", {}, kbT("Glad it is solved!")));
        var p = el("p", {}, "这次没有提交投诉。文章：");
        p.appendChild(el("a", { href: articleHref(item.url) }, item.title));
        result.appendChild(p);
      });
    }

    function disclosure() {
      var picked = form.querySelector("input[name=disclosure]:checked");
      return picked ? picked.value : "named";
    }
    form.querySelectorAll("input[name=disclosure]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        var anonymous = disclosure() === "anonymous";
        identity.hidden = anonymous;
        if (anonymous) identity.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      });
    });

    function clearErrors() {
      form.querySelectorAll(".kb-error").forEach(function (e) { e.textContent = ""; });
    }

    // A failed submit: each field says what is wrong (aria-invalid, aria-describedby), and a summary at the
    // top, linked to each field, takes the focus so a screen reader and the eye start there.
    function showErrors(errors, message) {
      var generic = [];
      var counterOf = function (node) { return document.getElementById(node.id + "-count") ? node.id + "-count" : ""; };
      form.querySelectorAll("[aria-invalid]").forEach(function (node) {
        node.removeAttribute("aria-invalid");
        if (counterOf(node)) node.setAttribute("aria-describedby", counterOf(node));
        else node.removeAttribute("aria-describedby");
      });
      var old = document.getElementById("kb-error-summary");
      if (old) old.remove();
      var summary = el("div", { id: "kb-error-summary", "class": "kb-error-summary", role: "alert", tabindex: "-1" });
      summary.appendChild(el("h3", {}, message || kbT("Some fields need fixing")));
      var list = el("ul");
      (errors || []).forEach(function (e) {
        var key = String(e.field || "").split(".")[0];
        var slot = form.querySelector('.kb-error[data-for="' + key + '"]');
        var control = form.elements[key === "identity" ? "name" : key];
        if (control && control.length && !control.tagName) control = control[0];  // radio groups
        if (slot) slot.textContent = e.message; else generic.push((e.field ? e.field + ": " : "") + e.message);
        if (slot && control && control.id) {
          slot.id = "kb-error-" + key;
          control.setAttribute("aria-invalid", "true");
          control.setAttribute("aria-describedby", (slot.id + " " + counterOf(control)).trim());
          var label = form.querySelector('label[for="' + control.id + '"]');
          var words = label && (label.querySelector("[data-kb-t]:not(.kb-optional)") || label);
          var name = words ? words.textContent.replace(/\*/g, "").trim() : key;
          var item = el("li");
          var link = el("a", { href: "#" + control.id }, name + ": " + e.message);
          link.addEventListener("click", function (ev) {  // to the field itself, not just its place
            ev.preventDefault();
            control.focus();
            control.scrollIntoView({ block: "center" });
          });
          item.appendChild(link);
          list.appendChild(item);
        }
      });
      if (message && !errors) generic.push(message);
      form.querySelector('.kb-error[data-for="_form"]').textContent = generic.join("；");
      if (!list.children.length && !generic.length) return;
      if (list.children.length) summary.appendChild(list);
      form.insertBefore(summary, form.firstChild);
      summary.focus();
      summary.scrollIntoView({ block: "start" });
    }

    // After the complaint is stored: its tracking code is the key the files are sent with.
    function sendFiles(code, files) {
      var box = el("section", { id: "kb-uploads", "class": "kb-uploads" });
      box.appendChild(el("h4", {}, kbT("Files")));
      var list = el("ul", { id: "kb-upload-list", "class": "kb-files" });
      box.appendChild(list);
      var note = el("p", { id: "kb-upload-note", "class": "kb-help" }, kbT("Uploading: keep this page open"));
      box.appendChild(note);
      result.appendChild(box);
      uploadAll(code, files, list).then(function (done) {
        note.textContent = done.failed
          ? kbT("%(count)s file(s) were not uploaded: the complaint is in, add them from the status page with your tracking code", { count: done.failed })
          : kbT("All files uploaded");
        note.className = done.failed ? "kb-error" : "kb-help kb-file-done";
      });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors();
      var v = function (id) { return form.querySelector(id).value.trim(); };
      var payload = {
        category: v("#kb-category"),
        description: v("#kb-description"),
        request: v("#kb-request") || null,
        occurred_at: v("#kb-occurred-at"),
        location: v("#kb-location") || null,
        about_department: v("#kb-about-department") || null,
        about_role: v("#kb-about-role") || null,
        disclosure: disclosure(),
        channel: "online_form",
        shown_articles: shown(),
        confident_at_submit: onScreen.length > 0
      };
      if (browserToken) payload.browser_token = browserToken;
      if (disclosure() !== "anonymous") {
        var who = { name: v("#kb-name"), department: v("#kb-department"),
                    position: v("#kb-position"), contact: v("#kb-contact") };
        Object.keys(who).forEach(function (k) { if (!who[k]) delete who[k]; });
        if (Object.keys(who).length) payload.identity = who;
        if (v("#kb-notify-email")) payload.notify_email = v("#kb-notify-email");
      }
      if (!checkFiles()) { form.querySelector("#kb-files").focus(); return; }
      var files = chosenFiles();
      var button = form.querySelector("#kb-submit");
      button.disabled = true;
      api("/api/v1/complaints", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
        body: JSON.stringify(payload)
      }).then(function (r) {
        button.disabled = false;
        if (r.status !== 201) { showErrors(r.body.errors, r.body.error || kbT("Could not submit: please try again later")); return; }
        finished = true;
        form.hidden = true;
        result.hidden = false;
        result.textContent = "";
        result.appendChild(el("h3", {}, kbT("Complaint received")));
        var code = el("p", { "class": "kb-tracking" }, kbT("Tracking code: "));
        code.appendChild(el("code", { id: "kb-tracking-code-value" }, r.body.tracking_code));
        var copy = el("button", { type: "button", id: "kb-copy-code", "class": "md-button" }, kbT("Copy"));
        copy.addEventListener("click", function () {
          var done = function () { copy.textContent = kbT("Copied"); };
          if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(r.body.tracking_code).then(done, function () { selectCode(); });
          } else {
            selectCode();
          }
        });
        function selectCode() {  // no clipboard over plain http: select it for Ctrl+C
          var range = document.createRange();
          range.selectNodeContents(document.getElementById("kb-tracking-code-value"));
          window.getSelection().removeAllRanges();
          window.getSelection().addRange(range);
        }
        code.appendChild(document.createTextNode(" "));
        code.appendChild(copy);
        result.appendChild(code);
        remember(r.body.tracking_code, r.body.number);
        result.appendChild(el("p", {}, r.body.acknowledgement));
        // The code travels in the fragment: never sent to a server, never in a log or a Referer.
        var link = el("a", { href: new URL("status/", siteRoot()).href + "#code=" + encodeURIComponent(r.body.tracking_code),
                             id: "kb-check-status" }, kbT("Check status"));
        result.appendChild(link);
        result.setAttribute("tabindex", "-1");
        result.focus();  // after success, focus goes to the receipt
        if (files.length) sendFiles(r.body.tracking_code, files);
      }).catch(function () {
        button.disabled = false;
        showErrors(null, kbT("Network error: not submitted, please retry"));
      });
    });
  }

  /* --------------------------------------------- codes this browser submitted */

  // "My complaints" without an account: the codes submitted from this browser, kept in this browser only
  // (localStorage), each with a "forget" button. Nothing of it is sent anywhere.
  var CODES = "kb-my-codes";

  function rememberedCodes() {
    try {
      var list = JSON.parse(localStorage.getItem(CODES) || "[]");
      return Array.isArray(list) ? list.filter(function (x) { return x && typeof x.code === "string"; }) : [];
    } catch (e) { return []; }
  }

  function keepCodes(list) {
    try { localStorage.setItem(CODES, JSON.stringify(list.slice(0, 50))); } catch (e) { /* private mode */ }
  }

  function remember(code, number) {
    keepCodes([{ code: code, number: String(number || ""), at: new Date().toISOString().slice(0, 10) }]
      .concat(rememberedCodes().filter(function (x) { return x.code !== code; })));
  }

  function myComplaints(form) {
    var box = document.getElementById("kb-my-complaints");
    if (!box) {
      box = el("section", { id: "kb-my-complaints", "class": "kb-my-complaints" });
      form.parentNode.insertBefore(box, form);
    }
    box.textContent = "";
    var list = rememberedCodes();
    box.hidden = !list.length;
    if (!list.length) return;
    box.appendChild(el("h2", {}, kbT("My complaints (this browser only)")));
    var ul = el("ul");
    list.forEach(function (item) {
      var li = el("li");
      var open = el("button", { type: "button", "class": "md-button" }, item.number + " · " + item.at);
      open.addEventListener("click", function () {
        form.querySelector("#kb-tracking-code").value = item.code;
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
      });
      var forget = el("button", { type: "button", "class": "md-button kb-forget" }, kbT("Forget"));
      forget.setAttribute("aria-label", kbT("Forget %(number)s", { number: item.number }));
      forget.addEventListener("click", function () {
        keepCodes(rememberedCodes().filter(function (x) { return x.code !== item.code; }));
        myComplaints(form);
      });
      li.appendChild(open);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(forget);
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  /* ---------------------------------------------------------- status page */

  function initStatusForm(form) {
    if (form.dataset.kbReady) return;
    form.dataset.kbReady = "1";
    var out = document.getElementById("kb-status-result");
    var current = "";
    myComplaints(form);

    function show(c) {
      out.hidden = false;
      out.textContent = "";
      if (c.open_question) out.appendChild(questionView(c.open_question));
      var dl = el("dl", { "class": "kb-status" });
      [[kbN("Number"), c.number], [kbN("Status"), c.status_label],
       [kbN("Level"), c.level_label], [kbN("Received"), c.received_at],
       [kbN("Assessment due"), c.assessment_due_at],
       [kbN("First response due"), c.first_response_due_at],
       [kbN("Handled by"), c.resolution_due_at],
       [kbN("Result due"), c.result_due_at],
       [kbN("Response"), c.response || kbT("No response yet")],
       [kbN("Rating"), c.rating ? ratingText(c.rating) : null]].forEach(function (row) {
        if (!row[1]) return;
        dl.appendChild(el("dt", {}, kbT(row[0])));
        dl.appendChild(el("dd", { "data-field": row[0].toLowerCase().replace(/ /g, "-") }, row[1]));
      });
      out.appendChild(dl);
      if (c.submitted) out.appendChild(submittedView(c.submitted));
      if ((c.messages || []).length || c.can_reply || (c.attachments || []).length) out.appendChild(threadView(c));
      if (c.report_available) out.appendChild(reportView(c));
      if (c.can_rate) out.appendChild(ratingForm());
    }

    // The handler's question the complainant has not answered yet: shown before anything else, with a
    // way straight to the answer box. Its text is the handler's, inserted as text.
    function questionView(q) {
      var box = el("section", { id: "kb-open-question", "class": "kb-open-question admonition question",
                                "aria-labelledby": "kb-open-question-title" });
      box.appendChild(el("h3", { id: "kb-open-question-title", "class": "admonition-title" },
                         kbT("The handler asks you")));
      box.appendChild(el("p", { id: "kb-open-question-text" }, q.body));
      if (q.at) box.appendChild(el("p", { "class": "kb-msg-at" }, q.at));
      var answer = el("a", { href: "#kb-reply-text", id: "kb-answer-question", "class": "md-button" }, kbT("Answer"));
      answer.addEventListener("click", function (ev) {
        var box = document.getElementById("kb-reply-text");
        if (!box) return;
        ev.preventDefault();
        box.focus();
        box.scrollIntoView({ block: "center" });
      });
      box.appendChild(answer);
      return box;
    }

    // What the employee submitted, as they typed it: every value goes in with textContent (el()).
    function submittedView(s) {
      var box = el("details", { id: "kb-submitted", "class": "kb-submitted", open: "open" });
      box.appendChild(el("summary", {}, kbT("What you submitted")));
      var dl = el("dl", { "class": "kb-status" });
      [[kbN("Category"), s.category], [kbN("What happened"), s.description],
       [kbN("What you ask for"), s.request], [kbN("When"), s.occurred], [kbN("Where"), s.location],
       [kbN("Department concerned"), s.about_department],
       [kbN("Role or service concerned"), s.about_role]].forEach(function (row) {
        if (!row[1]) return;
        dl.appendChild(el("dt", {}, kbT(row[0])));
        dl.appendChild(el("dd", { "class": "kb-submitted-text" }, row[1]));
      });
      box.appendChild(dl);
      return box;
    }

    /* The written report: download it, then confirm it or dispute it (a supervisor then reviews). */
    function reportView(c) {
      var box = el("section", { id: "kb-report", "class": "kb-report" });
      box.appendChild(el("h3", {}, kbT("Complaint handling report")));
      var link = el("a", { href: apiBase() + "/api/v1/complaints/" + encodeURIComponent(current) + "/report.pdf",
                          id: "kb-report-pdf" }, kbT("Download the PDF"));
      box.appendChild(link);
      var states = { confirmed: kbT("You confirmed this report"),
                     disputed: kbT("You disputed it: a supervisor is reviewing") };
      if (c.report_confirmation) box.appendChild(el("p", { id: "kb-report-state" }, states[c.report_confirmation]));
      if (!c.can_answer_report) return box;
      var comment = el("textarea", { id: "kb-report-comment", rows: "2", maxlength: "2000",
                                     placeholder: kbT("If you disagree, say why") });
      box.appendChild(comment);
      var msg = el("p", { "class": "kb-error" });
      ["confirmed", "disputed"].forEach(function (decision) {
        var label = decision === "confirmed" ? kbT("Confirm") : kbT("Dispute");
        var button = el("button", { type: "button", "class": "md-button", id: "kb-report-" + decision }, label);
        button.addEventListener("click", function () {
          api("/api/v1/complaints/" + encodeURIComponent(current) + "/report", {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ decision: decision, comment: comment.value.trim() || null })
          }).then(function (r) {
            if (r.status !== 200) { msg.textContent = r.body.error || kbT("Failed"); return; }
            show(r.body);
          });
        });
        box.appendChild(button);
      });
      box.appendChild(msg);
      return box;
    }

    function threadView(c) {
      var box = el("section", { id: "kb-thread", "class": "kb-thread" });
      box.appendChild(el("h3", {}, kbT("Messages")));
      (c.messages || []).forEach(function (m) {
        var p = el("p", { "class": "kb-msg kb-msg-" + m.author });
        p.appendChild(el("strong", {}, m.author === "staff" ? kbT("Handler") : kbT("Me")));
        p.appendChild(el("span", { "class": "kb-msg-at" }, " " + m.at));
        p.appendChild(el("br"));
        p.appendChild(document.createTextNode(m.body));
        box.appendChild(p);
      });
      if ((c.attachments || []).length) {
        box.appendChild(el("h4", {}, kbT("My files")));
        var mine = el("ul", { id: "kb-my-files", "class": "kb-files" });
        c.attachments.forEach(function (a) {
          var li = el("li", {});
          li.appendChild(el("a", { href: apiBase() + "/api/v1/complaints/" + encodeURIComponent(current) +
                                         "/attachments/" + encodeURIComponent(a.id),
                                   target: "_blank", rel: "noopener noreferrer" }, a.name));
          li.appendChild(el("span", { "class": "kb-msg-at" }, " " + sizeText(a.size) + " · " + a.at));
          mine.appendChild(li);
        });
        box.appendChild(mine);
      }
      if (!c.can_reply) return box;
      var f = el("form", { id: "kb-reply-form" });
      var text = el("textarea", { id: "kb-reply-text", rows: "3", maxlength: "2000",
                                  placeholder: kbT("Answer or add details (no name needed)") });
      f.appendChild(text);
      var files = null;
      if (c.can_attach) {
        var label = el("label", { "for": "kb-reply-files", "class": "kb-help" },
                       kbT("Attach photos or files (photos lose their location) "));
        f.appendChild(label);
        files = el("input", { id: "kb-reply-files", type: "file", multiple: "multiple",
                              accept: fileLimits.accept || "image/*,application/pdf,text/plain" });
        f.appendChild(files);
        loadFileLimits().then(function () {
          label.appendChild(el("span", {}, limitsText()));
          if (fileLimits.accept) files.setAttribute("accept", fileLimits.accept);
        });
      }
      f.appendChild(el("button", { type: "submit", "class": "md-button" }, kbT("Send")));
      var msg = el("p", { "class": "kb-error" });
      f.appendChild(msg);
      var sending = el("ul", { id: "kb-reply-uploads", "class": "kb-files" });
      f.appendChild(sending);
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var chosen = files ? Array.prototype.slice.call(files.files || []) : [];
        if (chosen.length) {
          sending.textContent = "";
          uploadAll(current, chosen, sending, text.value.trim()).then(function (done) {
            var finish = function () {
              if (done.last) show(done.last);
              if (done.failed) {  // the rows say which file and why
                var thread = document.getElementById("kb-thread") || out;
                thread.appendChild(sending);
              }
            };
            if (!done.text) { finish(); return; }
            // No file arrived: the words still do.
            api("/api/v1/complaints/" + encodeURIComponent(current) + "/messages", {
              method: "POST", headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ text: done.text })
            }).then(function (r) { if (r.status === 201) done.last = r.body; finish(); });
          });
          return;
        }
        if (!text.value.trim()) return;
        api("/api/v1/complaints/" + encodeURIComponent(current) + "/messages", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ text: text.value.trim() })
        }).then(function (r) {
          if (r.status !== 201) { msg.textContent = r.body.error || kbT("Failed"); return; }
          show(r.body);
        });
      });
      box.appendChild(f);
      return box;
    }

    // A score is a word, not a bare number: the same five words on the form and in the status.
    var RATINGS = { 1: kbN("Very dissatisfied"), 2: kbN("Dissatisfied"), 3: kbN("Neither satisfied nor dissatisfied"),
                    4: kbN("Satisfied"), 5: kbN("Very satisfied") };
    function ratingText(n) { return kbT(RATINGS[n] || String(n)) + " (" + n + " / 5)"; }

    function ratingForm() {
      var f = el("form", { id: "kb-rating-form", "class": "kb-form" });
      f.appendChild(el("h3", {}, kbT("How satisfied are you with the result?")));
      var row = el("fieldset", { "class": "kb-rating" });
      row.appendChild(el("legend", { "class": "kb-visually-hidden" }, kbT("Your rating")));
      [1, 2, 3, 4, 5].forEach(function (n) {
        var label = el("label", {});
        var input = el("input", { type: "radio", name: "score", value: String(n), id: "kb-score-" + n });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + kbT(RATINGS[n]) + " "));
        row.appendChild(label);
      });
      f.appendChild(row);
      var comment = el("textarea", { id: "kb-rating-comment", name: "comment", rows: "2", maxlength: "1000",
                                     placeholder: kbT("Tell us why (optional)") });
      f.appendChild(comment);
      var button = el("button", { type: "submit", "class": "md-button md-button--primary" }, kbT("Rate"));
      f.appendChild(button);
      var msg = el("p", { "class": "kb-error" });
      f.appendChild(msg);
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var picked = f.querySelector("input[name=score]:checked");
        if (!picked) { msg.textContent = kbT("Choose how satisfied you are"); return; }
        api("/api/v1/complaints/" + encodeURIComponent(current) + "/rating", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ score: Number(picked.value), comment: comment.value.trim() || null })
        }).then(function (r) {
          if (r.status !== 200) { msg.textContent = r.body.error || kbT("Failed"); return; }
          show(r.body);
          out.appendChild(el("p", { "class": "kb-thanks" }, kbT("Thank you for your rating")));
        });
      });
      return f;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      current = form.querySelector("#kb-tracking-code").value.trim();
      if (!current) return;
      api("/api/v1/complaints/" + encodeURIComponent(current)).then(function (r) {
        if (r.status !== 200) {
          out.hidden = false;
          out.textContent = "";
          out.appendChild(el("p", {}, r.body.error || kbT("Tracking code not found")));
          return;
        }
        show(r.body);
      });
    });
    // "Check status" from the receipt carries the code in the fragment: look it up at once.
    var given = /(?:^#|&)code=([^&]+)/.exec(location.hash);
    if (given) {
      form.querySelector("#kb-tracking-code").value = decodeURIComponent(given[1]);
      history.replaceState(null, "", location.pathname + location.search);  // not left in the history
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  }

  function init() {
    var form = document.getElementById("kb-complaint-form");
    if (form) initComplaintForm(form);
    var status = document.getElementById("kb-status-form");
    if (status) initStatusForm(status);
  }

  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
