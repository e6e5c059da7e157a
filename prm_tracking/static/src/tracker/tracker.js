/* PRM for Odoo - browser tracking snippet (served at /prm/tracker.js).
 *
 * Usage (the site form in Odoo shows the exact snippet):
 *   prm('init', publicKey, odooBaseUrl, {consent: 'required'});  // by the loader
 *   prm('page');                          // a page view (SPA navigations follow)
 *   prm('identify', {email: 'jane@example.com', signature: hmacFromYourServer,
 *                    profile: {country: 'BE'}});
 *   prm('track', 'download', {url: 'https://example.com/guide.pdf'});
 *   prm('consent', true | false);         // when the site requires consent
 *
 * Privacy: nothing is stored or sent when the browser asks not to be tracked
 * (Do Not Track, Global Privacy Control), nor before consent when the site
 * requires it. The visitor cookie is first-party, random, and holds nothing
 * about the person.
 */
(function (window, document) {
    "use strict";
    var COOKIE = "_prm_vid";
    var COOKIE_DAYS = 395;
    var state = {key: null, base: "", consentRequired: false, consent: false, queue: []};
    var previous = window.prm && window.prm.q ? window.prm.q : [];
    var lastUrl = null;
    var flushTimer = null;

    function optedOut() {
        var nav = window.navigator || {};
        var dnt = nav.doNotTrack || window.doNotTrack || nav.msDoNotTrack;
        return dnt === "1" || dnt === "yes" || nav.globalPrivacyControl === true;
    }

    function readCookie(name) {
        var parts = ("; " + document.cookie).split("; " + name + "=");
        return parts.length === 2 ? decodeURIComponent(parts.pop().split(";").shift()) : null;
    }

    function writeCookie(name, value, days) {
        var expires = new Date(Date.now() + days * 864e5).toUTCString();
        var secure = window.location.protocol === "https:" ? "; Secure" : "";
        document.cookie =
            name + "=" + encodeURIComponent(value) + "; expires=" + expires +
            "; path=/; SameSite=Lax" + secure;
    }

    function randomId() {
        if (window.crypto && window.crypto.randomUUID) {
            return window.crypto.randomUUID();
        }
        var bytes = new Uint8Array(16);
        (window.crypto || window.msCrypto).getRandomValues(bytes);
        return Array.prototype.map
            .call(bytes, function (b) {
                return ("0" + b.toString(16)).slice(-2);
            })
            .join("");
    }

    function allowed() {
        return state.key && !optedOut() && (!state.consentRequired || state.consent);
    }

    function visitor() {
        var token = readCookie(COOKIE);
        if (!token) {
            token = randomId().replace(/-/g, "");
            writeCookie(COOKIE, token, COOKIE_DAYS);
        }
        return token;
    }

    function utm() {
        var params = new URLSearchParams(window.location.search);
        var out = {};
        ["source", "medium", "campaign"].forEach(function (name) {
            var value = params.get("utm_" + name);
            if (value) {
                out[name] = value.slice(0, 128);
            }
        });
        return out;
    }

    function httpUrl(value) {
        return /^https?:\/\//i.test(value || "") ? value.slice(0, 2048) : undefined;
    }

    function flush() {
        flushTimer = null;
        if (!state.queue.length || !allowed()) {
            return;
        }
        var token = visitor();
        state.queue.forEach(function (event) {
            event.visitor = event.visitor || token;
        });
        var body = JSON.stringify({
            public_key: state.key,
            consent: state.consentRequired ? state.consent : undefined,
            events: state.queue.splice(0, 100),
        });
        var url = state.base + "/prm/api/v1/collect";
        var sent = false;
        if (window.navigator.sendBeacon) {
            sent = window.navigator.sendBeacon(url, new Blob([body], {type: "text/plain"}));
        }
        if (!sent && window.fetch) {
            window.fetch(url, {
                method: "POST",
                body: body,
                keepalive: true,
                credentials: "omit",
                headers: {"Content-Type": "text/plain"},
            });
        }
        if (state.queue.length) {
            schedule();
        }
    }

    function schedule() {
        if (!flushTimer) {
            flushTimer = window.setTimeout(flush, 0);
        }
    }

    function push(type, fields) {
        if (!state.key || optedOut()) {
            return;
        }
        // before consent, events wait in memory: no cookie, nothing sent
        var event = {id: randomId(), type: type, occurred_at: new Date().toISOString()};
        Object.keys(fields || {}).forEach(function (name) {
            if (fields[name] !== undefined && fields[name] !== null) {
                event[name] = fields[name];
            }
        });
        state.queue.push(event);
        if (allowed()) {
            schedule();
        }
    }

    function page() {
        lastUrl = window.location.href;
        push("page_view", {
            url: httpUrl(window.location.href),
            title: (document.title || "").slice(0, 2048),
            referrer: httpUrl(document.referrer),
            utm: utm(),
        });
    }

    function watchNavigation() {
        var onChange = function () {
            if (window.location.href !== lastUrl) {
                page();
            }
        };
        ["pushState", "replaceState"].forEach(function (name) {
            var original = window.history[name];
            window.history[name] = function () {
                var result = original.apply(this, arguments);
                onChange();
                return result;
            };
        });
        window.addEventListener("popstate", onChange);
        window.addEventListener("pagehide", flush);
    }

    var commands = {
        init: function (key, base, options) {
            state.key = key;
            state.base = (base || "").replace(/\/+$/, "");
            state.consentRequired = Boolean(options && options.consent === "required");
            // consent given on an earlier page: the cookie only exists after it
            state.consent = !state.consentRequired || Boolean(readCookie(COOKIE));
        },
        page: function () {
            if (lastUrl === null) {
                watchNavigation();
            }
            page();
        },
        identify: function (traits) {
            traits = traits || {};
            push("identify", {
                email: traits.email,
                signature: traits.signature,
                profile: traits.profile,
                utm: utm(),
            });
        },
        track: function (type, props) {
            props = props || {};
            push(type, {
                url: httpUrl(props.url || window.location.href),
                title: props.title,
                properties: props.properties,
            });
        },
        consent: function (given) {
            state.consent = Boolean(given);
            if (!state.consent) {
                state.queue = [];
                writeCookie(COOKIE, "", -1);
            } else {
                schedule();
            }
        },
    };

    function prm(name) {
        var command = commands[name];
        if (command) {
            command.apply(null, Array.prototype.slice.call(arguments, 1));
        }
    }

    window.prm = prm;
    previous.forEach(function (args) {
        prm.apply(null, args);
    });
})(window, document);
