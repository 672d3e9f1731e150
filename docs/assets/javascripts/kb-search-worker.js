/* The site search's worker, in place of Material's lunr worker (kb_builder/site_search.py says why).
 *
 * Material's search box sends SETUP (the stub search/search_index.json, a few KB) and then each
 * QUERY; we answer READY at once and RESULT per query, in Material's format. A query goes to the
 * API's /api/v1/search (the suggestions' engine: one ranking, synonyms, Traditional/Simplified) when
 * it answers; otherwise, or once it has failed, to the static index, of which only the files the
 * query's words need are fetched (the browser caches them: their folder is versioned).
 * Titles and texts are rendered by Material as HTML: everything is escaped here. */
"use strict";

var SETUP = 0, READY = 1, QUERY = 2, RESULT = 3;
var LIMIT = 10;
var K1 = 1.2;  // BM25 saturation: the weights in the index are tf * (K1 + 1) / (tf + norm) * 100

var kb = null;          // config.kb of the stub: api, path, version, documents, buckets, chunk, fold
var root = null;        // the site's root URL (the worker lives at assets/javascripts/)
var apiUp = true;       // false once the API did not answer: the static index from then on
var files = {};         // path -> Promise of parsed JSON (one fetch per file per page)
var latest = 0;
var timer = null;
var API_PAUSE_MS = 120;  // keystrokes closer together than this make one request to the API

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

function fnv1a(key) {
  var h = 0x811c9dc5;
  for (var ch of key) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function readJson(response) {
  // Gzip files as stored; a server that adds Content-Encoding: gzip has inflated them already.
  return response.arrayBuffer().then(function (buf) {
    var bytes = new Uint8Array(buf);
    if (bytes.length > 1 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      return new Response(stream).text().then(JSON.parse);
    }
    return JSON.parse(new TextDecoder().decode(bytes));
  });
}

function load(path) {
  if (!files[path]) {
    files[path] = fetch(new URL(kb.path + path, root)).then(function (r) {
      if (!r.ok) return null;  // a bucket no term falls into is not written
      return readJson(r);
    }).catch(function () { delete files[path]; return null; });
  }
  return files[path];
}

function bucketFile(key) { return "t/" + (fnv1a(key) % kb.buckets) + ".json.gz"; }

function fold(query) {
  var out = "";
  for (var ch of query.normalize("NFKC").toLowerCase()) out += kb.fold[ch] || ch;
  return out;
}

var HAN = /[\u3400-\u9fff\uf900-\ufaff]+|[\p{L}\p{N}]+/gu;
var IS_HAN = /^[\u3400-\u9fff\uf900-\ufaff]/;

function lookups(query) {
  // Han runs: every index word starting at each position (the index's words are the dictionary);
  // other runs: the word, its stem as the index knows it, or the word without a common ending.
  var runs = fold(query).match(HAN) || [];
  return runs.map(function (run) {
    return { run: run, han: IS_HAN.test(run) };
  });
}

function wordsIn(run, shards) {
  var found = [], covered = new Array(run.length).fill(false);
  for (var i = 0; i + 1 < run.length; i++) {
    var shard = shards[bucketFile(run.slice(i, i + 2))];
    if (!shard) continue;
    for (var term in shard.t) {
      if (term.length >= 2 && run.startsWith(term, i)) {
        found.push(term);
        for (var j = i; j < i + term.length; j++) covered[j] = true;
      }
    }
  }
  return { found: found, covered: covered };
}

function stemsOf(word, shard) {
  if (!shard) return [];
  if (shard.t[word]) return [word];
  if (shard.f[word]) return [shard.f[word]];
  var endings = ["ies", "es", "s", "ing", "ed", "ly"];
  for (var k = 0; k < endings.length; k++) {
    var e = endings[k];
    if (word.length > e.length + 2 && word.endsWith(e)) {
      var base = word.slice(0, -e.length);
      if (shard.t[base]) return [base];
    }
  }
  return [];
}

function fetchAll(paths) {
  var unique = Array.from(new Set(paths));
  return Promise.all(unique.map(load)).then(function (loaded) {
    var out = {};
    unique.forEach(function (p, i) { out[p] = loaded[i]; });
    return out;
  });
}

function staticSearch(query) {
  var runs = lookups(query);
  var first = [];
  runs.forEach(function (r) {
    if (r.han) {
      for (var i = 0; i + 1 < r.run.length; i++) first.push(bucketFile(r.run.slice(i, i + 2)));
      if (r.run.length === 1) first.push(bucketFile(r.run));
    } else {
      first.push(bucketFile(r.run.slice(0, 2)));
    }
  });
  return fetchAll(first).then(function (shards) {
    var chosen = [], single = [];
    runs.forEach(function (r) {
      if (!r.han) {
        var shard = shards[bucketFile(r.run.slice(0, 2))];
        stemsOf(r.run, shard).forEach(function (t) { chosen.push({ term: t, shown: r.run }); });
        return;
      }
      var w = wordsIn(r.run, shards);
      w.found.forEach(function (t) { chosen.push({ term: t, shown: t }); });
      // A character no index word covers may be a word of its own (坏 in 饮水机坏了).
      w.covered.forEach(function (c, i) { if (!c) single.push(r.run[i]); });
    });
    return fetchAll(single.map(bucketFile)).then(function (more) {
      single.forEach(function (ch) {
        var shard = more[bucketFile(ch)];
        if (shard && shard.t[ch]) chosen.push({ term: ch, shown: ch });
      });
      // Stems whose bucket differs from the word's (rare): one more round.
      var missing = chosen.filter(function (c) { return !shardOf(c.term, shards, more); });
      return fetchAll(missing.map(function (c) { return bucketFile(c.term.slice(0, 2)); })).then(function (last) {
        return score(chosen, [shards, more, last]);
      });
    });
  });
}

function shardOf(term, a, b, c) {
  var path = bucketFile(term.slice(0, 2));
  var s = (a && a[path]) || (b && b[path]) || (c && c[path]);
  return s && s.t[term] ? s : null;
}

function score(chosen, sets) {
  var scores = new Map(), matched = new Map(), seen = new Set();
  chosen.forEach(function (c) {
    if (seen.has(c.term)) return;
    seen.add(c.term);
    var shard = shardOf(c.term, sets[0], sets[1], sets[2]);
    if (!shard) return;
    var rows = shard.t[c.term], df = rows.length / 2;
    var idf = Math.log(1 + (kb.documents - df + 0.5) / (df + 0.5));
    var doc = 0;
    for (var i = 0; i < rows.length; i += 2) {
      doc += rows[i];
      scores.set(doc, (scores.get(doc) || 0) + idf * rows[i + 1] / 100);
      if (!matched.has(doc)) matched.set(doc, new Set());
      matched.get(doc).add(c.shown);
    }
  });
  var best = Array.from(scores.entries()).sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; })
    .slice(0, LIMIT);
  var chunks = best.map(function (e) { return "d/" + Math.floor(e[0] / kb.chunk) + ".json.gz"; });
  return fetchAll(chunks).then(function (loaded) {
    return best.map(function (e) {
      var rows = loaded["d/" + Math.floor(e[0] / kb.chunk) + ".json.gz"] || [];
      var row = rows[e[0] % kb.chunk] || ["", "", ""];
      // Only the words this page matched: Material strikes through a term listed as false ("Missing"),
      // which on the best hit read as if the search had ignored a word it had in fact used.
      var t = {};
      matched.get(e[0]).forEach(function (k) { t[k] = true; });
      var marks = chosen.filter(function (c) { return matched.get(e[0]).has(c.shown); });
      return item(row[0], row[1], row[2], e[1], t, marks);
    });
  });
}

function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

// Every query word in a title or text, marked as Material's own worker marks them (<mark data-md-highlight>).
// Matching runs on the folded text (Traditional -> Simplified, lower case: a character for a character), the
// marks go around the original; the text is escaped piece by piece, so no mark can cut an entity.
function highlight(text, marks) {
  text = String(text);
  var words = [];
  (marks || []).forEach(function (m) {
    var han = IS_HAN.test(m.term);
    [m.shown, m.term].forEach(function (w) {
      if (w && w.length >= (han ? 1 : 2)) words.push(han ? escapeRegExp(w) : "\\b" + escapeRegExp(w) + "[a-z]*");
    });
  });
  if (!words.length) return escapeHtml(text);
  words.sort(function (a, b) { return b.length - a.length; });
  var pattern = new RegExp(Array.from(new Set(words)).join("|"), "g");
  var folded = "";
  for (var i = 0; i < text.length; i++) {
    var low = text[i].toLowerCase();
    folded += (low.length === 1 ? ((kb && kb.fold[low]) || low) : text[i]);
  }
  var out = "", at = 0, m;
  while ((m = pattern.exec(folded)) !== null) {
    if (!m[0]) { pattern.lastIndex++; continue; }
    out += escapeHtml(text.slice(at, m.index)) + "<mark data-md-highlight>" +
      escapeHtml(text.slice(m.index, m.index + m[0].length)) + "</mark>";
    at = m.index + m[0].length;
  }
  return out + escapeHtml(text.slice(at));
}

function item(location, title, text, score, terms, marks) {
  return [{ location: location, title: highlight(title, marks), text: highlight(text, marks), score: score,
            terms: terms }];
}

function apiSearch(query) {
  var url = kb.api + "?limit=" + LIMIT + "&q=" + encodeURIComponent(query);
  return fetch(new URL(url, root), { headers: { "Accept": "application/json" } }).then(function (r) {
    if (r.status === 404 || r.status === 405) apiUp = false;  // a site served without the API
    if (!r.ok) throw new Error("api " + r.status);  // busy or no index yet: the static index this time
    return r.json().catch(function (err) { apiUp = false; throw err; });  // a web server's HTML, not the API
  }).then(function (body) {
    // The query's words as the API's analyser cut them (jieba, folded, stems): each one is highlighted.
    var marks = (Array.isArray(body.terms) ? body.terms : []).filter(function (t) {
      return t && typeof t.term === "string" && typeof t.shown === "string";
    });
    return (body.results || []).map(function (hit) {
      var location = String(hit.url || "");
      if (/^[a-z][a-z0-9+.-]*:/i.test(location) || location.indexOf("//") === 0) location = "#";  // site paths only
      // The query's words, none "missing": Material puts them in the link (?h=) to highlight on the page.
      var t = {};
      marks.forEach(function (m) { t[m.shown] = true; });
      return item(location, hit.title || "", hit.snippet || "", hit.score || 0, t, marks);
    });
  });
}

function search(query) {
  query = query.replace(/[*+\-:^~"]+/g, " ").trim();
  if (!query) return Promise.resolve([]);
  if (apiUp && kb.api) {
    return apiSearch(query).catch(function (err) {
      if (err instanceof TypeError) apiUp = false;  // network error: no API here
      return staticSearch(query);
    });
  }
  return staticSearch(query);
}

addEventListener("message", function (ev) {
  var message = ev.data;
  if (message.type === SETUP) {
    kb = message.data.config.kb;
    root = new URL("../../", self.location.href);
    postMessage({ type: READY });
  } else if (message.type === QUERY) {
    var mine = ++latest;
    clearTimeout(timer);
    timer = setTimeout(function () {
      search(message.data).then(function (items) {
        if (mine === latest) postMessage({ type: RESULT, data: { items: items } });
      }, function () {
        if (mine === latest) postMessage({ type: RESULT, data: { items: [] } });
      });
    }, apiUp && kb.api ? API_PAUSE_MS : 0);
  }
});
