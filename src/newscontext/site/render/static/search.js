/* newscontext: the search page's script. One page serves both deliveries: a built folder
   holds Pagefind's index, and Pagefind's UI searches it in the browser; the live server
   has no index but its JSON API, which answers subjects first, then events. The query
   lives in the address (?q=), so a search can be shared. Text from answers is put in as
   text; the only markup kept from a snippet is <mark>. No framework, no outside request. */
(function () {
  "use strict";
  var root = document.getElementById("search");
  if (!root || !window.fetch || !window.URLSearchParams) return;
  var API = root.getAttribute("data-api");
  var BUNDLE = root.getAttribute("data-bundle");
  var form = document.getElementById("search-form");
  var input = document.getElementById("search-q");
  var status = document.getElementById("search-status");
  var results = document.getElementById("search-results");
  var box = document.getElementById("search-pagefind");
  var missing = document.getElementById("search-missing");
  var LIMIT = 20; // events per request
  var WAIT = 300; // ms after the last keystroke before searching
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"];
  var KINDS = {entity: "Subject", story: "Story"};

  function fromAddress() {
    return (new URLSearchParams(window.location.search).get("q") || "").trim();
  }

  function toAddress(query) {
    var params = new URLSearchParams(window.location.search);
    if (query) params.set("q", query); else params.delete("q");
    var search = params.toString();
    var target = window.location.pathname + (search ? "?" + search : "");
    if (target !== window.location.pathname + window.location.search) {
      window.history.replaceState(window.history.state, "", target);
    }
  }

  function say(text) {
    status.textContent = text;
  }

  function node(tag, className, text) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (text != null) made.textContent = text;
    return made;
  }

  function longDate(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!parts) return iso || "";
    return Number(parts[3]) + " " + MONTHS[Number(parts[2]) - 1] + " " + parts[1];
  }

  function time(iso) {
    var made = node("time", null, longDate(iso));
    made.setAttribute("datetime", iso);
    return made;
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  /* A snippet (HTML made by the server: its text escaped, the matched words in <mark>) as
     nodes: parsed in an inert document (nothing in it loads or runs), then rebuilt from
     its text and its <mark> elements only; anything else becomes its text. */
  function marked(snippet) {
    var parsed = new DOMParser().parseFromString("<body>" + snippet, "text/html").body;
    var out = document.createDocumentFragment();
    (function copy(from, to) {
      from.childNodes.forEach(function (child) {
        if (child.nodeType === 3) {
          to.appendChild(document.createTextNode(child.nodeValue));
        } else if (child.nodeType === 1 && child.tagName === "MARK") {
          to.appendChild(node("mark", null, child.textContent));
        } else if (child.nodeType === 1) {
          copy(child, to);
        }
      });
    })(parsed, out);
    return out;
  }

  /* The plain text of a snippet, without the "…" where it was cut. */
  function plain(snippet) {
    return marked(snippet).textContent.replace(/^…|…$/g, "");
  }

  /* A site path from an answer, as the HTML page's link; null for anything else. */
  function page(path) {
    return typeof path === "string" && /^\/(?!\/)/.test(path) ? path + ".html" : null;
  }

  function anchor(href, content) {
    var link = node(href ? "a" : "span");
    if (href) link.href = href;
    link.appendChild(content);
    return link;
  }

  function subjectItem(hit) {
    var item = node("li", "event");
    var title = node("p", "title");
    var named = hit.snippet ? marked(hit.snippet) : document.createTextNode(hit.title);
    var wiki = typeof hit.wikipedia === "string" && /^https:\/\//.test(hit.wikipedia)
      ? hit.wikipedia : null;
    title.appendChild(anchor(page(hit.path) || wiki, named));
    item.appendChild(title);
    var facts = (KINDS[hit.kind] || "Subject") + " · " + plural(hit.events || 0, "event");
    if (hit.first && hit.last) {
      facts += hit.first === hit.last ? ", " + longDate(hit.first)
        : ", " + longDate(hit.first) + " to " + longDate(hit.last);
    }
    item.appendChild(node("p", "stories", facts));
    var labels = (hit.labels || []).filter(function (l) { return l && l !== hit.title; });
    if (labels.length && hit.snippet && hit.snippet.indexOf("<mark>") < 0) {
      item.appendChild(node("p", "context", "Linked as: " + labels.slice(0, 5).join(", ")));
    }
    return item;
  }

  function eventItem(hit) {
    var item = node("li", "event");
    var title = node("p", "title");
    if (hit.date) title.appendChild(time(hit.date));
    if (hit.category) {
      title.appendChild(document.createTextNode(" · "));
      title.appendChild(node("span", "category", hit.category));
    }
    if (title.childNodes.length) title.appendChild(node("br"));
    // The event's wording, its matched words marked when the snippet is part of it; a
    // snippet from an earlier wording or a cited article is shown under it.
    var text = hit.text || "";
    var core = hit.snippet ? plain(hit.snippet) : "";
    var at = core ? text.indexOf(core) : -1;
    var words = document.createDocumentFragment();
    if (at >= 0) {
      words.appendChild(document.createTextNode(text.slice(0, at)));
      var middle = marked(hit.snippet.replace(/^…|…$/g, ""));
      words.appendChild(middle);
      words.appendChild(document.createTextNode(text.slice(at + core.length)));
    } else {
      words.appendChild(document.createTextNode(text));
    }
    title.appendChild(anchor(page(hit.path), words));
    item.appendChild(title);
    if (hit.stories && hit.stories.length) {
      item.appendChild(node("p", "stories", "Story: " + hit.stories.join(" › ")));
    }
    if (core && at < 0) {
      var found = node("p", "context", "Found in an earlier wording or a cited article: ");
      found.appendChild(marked(hit.snippet));
      item.appendChild(found);
    }
    return item;
  }

  function section(id, heading, list) {
    var part = node("section", "search-part");
    part.setAttribute("aria-labelledby", id);
    var h2 = node("h2", null, heading);
    h2.id = id;
    part.appendChild(h2);
    part.appendChild(list);
    return part;
  }

  /* -- the live server ------------------------------------------------------------------ */

  function live() {
    var timer = 0;
    var asked = null; // the AbortController of the request in flight
    var shown = null; // the query whose results are shown
    var counts = {subjects: 0, events: 0};
    var eventList = null;
    var seen = {};

    function get(path, params, controller) {
      return fetch(API + path + "?" + new URLSearchParams(params).toString(),
                   {signal: controller.signal, headers: {Accept: "application/json"}})
        .then(function (answer) {
          return answer.json().then(function (body) {
            if (!answer.ok) throw {status: answer.status, message: body && body.error};
            return body;
          });
        });
    }

    function failed(error, query) {
      if (error && error.name === "AbortError") return;
      if (error && error.status === 400) {
        say("These words cannot be searched (" + (error.message || "bad query") + ").");
      } else if (error && error.status === 503) {
        say("The search for “" + query + "” took too long; try more or rarer words.");
      } else {
        say("The search did not answer; try again in a moment.");
      }
    }

    function tell(query) {
      var parts = [];
      if (counts.subjects) parts.push(plural(counts.subjects, "subject"));
      if (counts.events) parts.push(plural(counts.events, "event"));
      say(parts.length ? parts.join(" and ") + " found for “" + query + "”."
                       : "Nothing found for “" + query + "”.");
    }

    function moreButton(query, next) {
      var wrap = node("p", "search-more");
      var button = node("button", null, "More events");
      button.type = "button";
      button.addEventListener("click", function () {
        button.disabled = true;
        var controller = asked = new AbortController();
        // The search answers the best LIMIT events; /events pages through all of them.
        var params = next ? {q: query, limit: LIMIT, cursor: next}
                          : {q: query, limit: counts.events + LIMIT};
        get("/events", params, controller).then(function (body) {
          if (controller !== asked) return;
          var first = null;
          body.events.forEach(function (hit) {
            if (seen[hit.id]) return;
            seen[hit.id] = true;
            var item = eventItem(hit);
            eventList.appendChild(item);
            counts.events += 1;
            if (!first) first = item;
          });
          wrap.remove();
          if (body.next) results.appendChild(moreButton(query, body.next));
          tell(query);
          var link = first && first.querySelector("a");
          if (link) link.focus(); // on to the first new event, not back to the top
        }).catch(function (error) {
          button.disabled = false;
          failed(error, query);
        });
      });
      wrap.appendChild(button);
      return wrap;
    }

    function show(query, body) {
      var subjects = body.results.filter(function (r) { return r.kind !== "event"; });
      var events = body.results.filter(function (r) { return r.kind === "event"; });
      counts = {subjects: subjects.length, events: events.length};
      seen = {};
      var parts = [];
      if (subjects.length) {
        var subjectList = node("ul", "events");
        subjects.forEach(function (hit) { subjectList.appendChild(subjectItem(hit)); });
        parts.push(section("found-subjects", "Subjects", subjectList));
      }
      eventList = node("ul", "events");
      events.forEach(function (hit) {
        seen[hit.id] = true;
        eventList.appendChild(eventItem(hit));
      });
      if (events.length) parts.push(section("found-events", "Events", eventList));
      if (events.length >= LIMIT) parts.push(moreButton(query, null));
      results.replaceChildren.apply(results, parts);
      tell(query);
    }

    function run(text, again) {
      var query = text.trim();
      if (query === shown && !again) return;
      toAddress(query);
      if (asked) asked.abort();
      asked = null;
      shown = query;
      if (!query) {
        results.replaceChildren();
        say("");
        return;
      }
      var controller = asked = new AbortController();
      results.setAttribute("aria-busy", "true");
      get("/search", {q: query, limit: LIMIT}, controller).then(function (body) {
        if (controller !== asked) return;
        results.removeAttribute("aria-busy");
        show(query, body);
      }).catch(function (error) {
        if (controller !== asked) return;
        results.removeAttribute("aria-busy");
        results.replaceChildren();
        shown = null; // asking again is worth it
        failed(error, query);
      });
    }

    form.hidden = false;
    input.value = fromAddress();
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { run(input.value, false); }, WAIT);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      run(input.value, true);
    });
    if (input.value) run(input.value, true); else input.focus();
  }

  /* -- a static host: Pagefind's UI ------------------------------------------------------ */

  function load(tag, attributes) {
    return new Promise(function (resolve, reject) {
      var made = document.createElement(tag);
      Object.keys(attributes).forEach(function (k) { made.setAttribute(k, attributes[k]); });
      made.onload = resolve;
      made.onerror = reject;
      document.head.appendChild(made);
    });
  }

  function pagefind() {
    Promise.all([
      load("link", {rel: "stylesheet", href: BUNDLE + "pagefind-ui.css"}),
      load("script", {src: BUNDLE + "pagefind-ui.js"}),
    ]).then(function () {
      if (typeof window.PagefindUI !== "function") throw new Error("no PagefindUI");
      var ui = new window.PagefindUI({
        element: "#search-pagefind", bundlePath: BUNDLE, showImages: false,
        showSubResults: false, resetStyles: true, showEmptyFilters: false,
        // A subject's page is found by its name first ("Iran": the Iran page, not the
        // many events with "Iranian" words): exact terms weigh more, and titles no more
        // than the subject page's own weighted name (checked in tests/test_browse.py).
        ranking: {termSimilarity: 10, metaWeights: {title: 0}},
        processTerm: function (term) { toAddress(term.trim()); return term; },
      });
      // Pagefind's own message ("12 results for x") is not announced: the status line
      // repeats it politely, seen by screen readers only (Pagefind shows its own).
      status.classList.add("vh");
      new MutationObserver(function () {
        var message = box.querySelector(".pagefind-ui__message");
        say(message ? message.textContent : "");
      }).observe(box, {childList: true, subtree: true, characterData: true});
      var field = box.querySelector("input");
      var query = fromAddress();
      if (query) ui.triggerSearch(query);
      else if (field) field.focus();
      if (field) {
        field.addEventListener("input", function () {
          if (!field.value.trim()) toAddress("");
        });
      }
    }).catch(function () {
      box.replaceChildren();
      missing.hidden = false;
    });
  }

  /* -- which one ------------------------------------------------------------------------- */

  /* Whether `url` answers JSON that `check` accepts. */
  function answers(url, check) {
    return fetch(url, {headers: {Accept: "application/json"}})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(check)
      .catch(function () { return false; });
  }

  // A built folder holds Pagefind's bundle, which the live server never serves: its entry
  // file decides (a static host then asks for nothing it lacks). Without one, the API's
  // OpenAPI document must name its search, so a host that answers any address with a page
  // is not taken for the server.
  answers(BUNDLE + "pagefind-entry.json", function (entry) {
    return Boolean(entry && entry.languages);
  }).then(function (indexed) {
    if (indexed) return pagefind();
    return answers(API + "/openapi.json", function (spec) {
      return Boolean(spec && spec.paths && spec.paths["/search"]);
    }).then(function (served) {
      if (served) live(); else missing.hidden = false;
    });
  });
})();
