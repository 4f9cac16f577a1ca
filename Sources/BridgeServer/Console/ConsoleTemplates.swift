import Mustache

/// The console's Mustache templates, compiled into the binary (no template folder to deploy).
///
/// Every `{{value}}` is HTML-escaped by swift-mustache (`< > & " '`); the only triple-mustache is
/// `{{{svg}}}`, markup that ``SVGChart`` builds from numbers. Pages extend `layout`.
enum ConsoleTemplates {
    /// Every template, parsed once; a template that does not parse is a programming error caught by the tests.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            do {
                try library.register(text, named: name)
            } catch {
                fatalError("console template \(name) does not parse: \(error)")
            }
        }
        return library
    }()

    static let all: [(String, String)] = [
        ("layout", layout), ("login", login), ("error", error), ("overview", overview), ("dead-letters", deadLetters),
        ("dlq-preview", dlqPreview), ("job", job), ("events", events), ("targets", targets), ("rules", rules),
    ]

    static let layout = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{$title}}dagbridge{{/title}} · dagbridge console</title>
        <link rel="stylesheet" href="/console/static/console.css">
        <script src="/console/static/console.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
        <span class="brand">dagbridge</span>
        {{#session}}
        <nav aria-label="Console pages">
        <ul>
        <li><a href="/console"{{#navOverview}} aria-current="page"{{/navOverview}}>Overview</a></li>
        <li><a href="/console/dead-letters"{{#navDead}} aria-current="page"{{/navDead}}>Dead letters</a></li>
        <li><a href="/console/events"{{#navEvents}} aria-current="page"{{/navEvents}}>Event lookup</a></li>
        <li><a href="/console/targets"{{#navTargets}} aria-current="page"{{/navTargets}}>Targets</a></li>
        <li><a href="/console/rules"{{#navRules}} aria-current="page"{{/navRules}}>Rules</a></li>
        </ul>
        </nav>
        <form class="logout" method="post" action="/console/logout">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <span class="role">Signed in as {{role}}</span>
        <button type="submit">Log out</button>
        </form>
        {{/session}}
        </header>
        <main id="main" tabindex="-1">
        {{$main}}{{/main}}
        </main>
        </body>
        </html>
        """#

    static let login = #"""
        {{<layout}}
        {{$title}}Log in{{/title}}
        {{$main}}
        <h1>Log in to the console</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <form method="post" action="/console/login" class="login">
        <input type="hidden" name="_csrf" value="{{loginToken}}">
        <label for="token">Token (server.admin_token, or one of server.viewer_tokens)</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required>
        <button type="submit">Log in</button>
        </form>
        {{/main}}
        {{/layout}}
        """#

    static let error = #"""
        {{<layout}}
        {{$title}}{{heading}}{{/title}}
        {{$main}}
        <h1>{{heading}}</h1>
        <p class="error" role="alert">{{message}}</p>
        <p><a href="{{back}}">Back</a></p>
        {{/main}}
        {{/layout}}
        """#

    static let overview = #"""
        {{<layout}}
        {{$title}}Overview{{/title}}
        {{$main}}
        <h1>Overview</h1>
        <section aria-labelledby="h-now">
        <h2 id="h-now">Now</h2>
        <dl class="tiles">
        <div><dt>Queue depth</dt><dd id="queue-depth">{{queueDepth}}</dd></div>
        <div><dt>Dead letters</dt><dd id="dlq-size"><a href="/console/dead-letters">{{dlqSize}}</a></dd></div>
        <div><dt>Pending</dt><dd>{{pending}}</dd></div>
        <div><dt>In flight</dt><dd>{{inFlight}}</dd></div>
        <div><dt>Delivered (kept)</dt><dd>{{delivered}}</dd></div>
        </dl>
        </section>
        <section aria-labelledby="h-hour">
        <h2 id="h-hour">Last hour, per minute</h2>
        <div class="charts">
        {{#charts}}
        <figure>
        <figcaption>{{title}}: <strong>{{total}}</strong></figcaption>
        {{{svg}}}
        </figure>
        {{/charts}}
        </div>
        </section>
        <section aria-labelledby="h-targets">
        <h2 id="h-targets">Targets</h2>
        <table>
        <thead><tr><th scope="col">Target</th><th scope="col">Breaker</th><th scope="col">In flight</th><th scope="col">Concurrency</th><th scope="col">Max in flight</th></tr></thead>
        <tbody>
        {{#targets}}<tr><td><a href="/console/targets#t-{{name}}">{{name}}</a></td><td><span class="breaker breaker-{{breaker}}">{{breaker}}</span></td><td>{{inFlight}}</td><td>{{concurrency}}</td><td>{{maxInFlight}}</td></tr>{{/targets}}
        </tbody>
        </table>
        </section>
        <section aria-labelledby="h-reload">
        <h2 id="h-reload">Rules</h2>
        <p>{{ruleCount}} rules active (generation {{generation}}).
        {{#reload}}Last reload {{at}}: {{#ok}}accepted{{/ok}}{{^ok}}<strong>rejected</strong>, the previous set stays active{{/ok}}.{{/reload}}
        {{^reload}}No reload since the service started.{{/reload}}</p>
        {{#reload}}{{#hasDiagnostics}}<ul class="diagnostics">{{#diagnostics}}<li>{{.}}</li>{{/diagnostics}}</ul>{{/hasDiagnostics}}{{/reload}}
        </section>
        {{/main}}
        {{/layout}}
        """#

    static let deadLetters = #"""
        {{<layout}}
        {{$title}}Dead letters{{/title}}
        {{$main}}
        <h1>Dead letters</h1>
        <form method="get" action="/console/dead-letters" class="filters" role="search" aria-label="Filter dead letters">
        <div><label for="f-rule">Rule</label>
        <select id="f-rule" name="rule"><option value="">any rule</option>{{#rules}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/rules}}</select></div>
        <div><label for="f-target">Target</label>
        <select id="f-target" name="target"><option value="">any target</option>{{#targetNames}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/targetNames}}</select></div>
        <div><label for="f-reason">Reason contains</label>
        <input id="f-reason" name="reason" value="{{filter.reason}}" maxlength="200"></div>
        <div><label for="f-since">Died since</label>
        <input id="f-since" name="since" value="{{filter.since}}" placeholder="2h, or 2026-12-04T10:00:00Z" maxlength="40"></div>
        <div><label for="f-until">Died before</label>
        <input id="f-until" name="until" value="{{filter.until}}" placeholder="30m, or an ISO-8601 time" maxlength="40"></div>
        <div class="buttons"><button type="submit">Filter</button> <a href="/console/dead-letters">Clear</a></div>
        </form>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <p id="match-count" role="status">{{countText}}</p>
        {{#canAct}}
        <form method="post" action="/console/dead-letters/preview" id="dlq-actions">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#hiddenFilter}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hiddenFilter}}
        <div class="actions">
        <fieldset><legend>Apply to</legend>
        <label><input type="radio" name="scope" value="selected" checked> the jobs ticked below</label>
        <label><input type="radio" name="scope" value="all"> all {{countShort}} matching jobs</label>
        </fieldset>
        <fieldset><legend>Replay</legend>
        <label><input type="radio" name="mode" value="as_sent" checked> as sent</label>
        <label><input type="radio" name="mode" value="rerender"> re-rendered by the current rules</label>
        <label><input type="radio" name="mode" value="new_run_id"> with a new run id</label>
        </fieldset>
        <div class="buttons">
        <button type="submit" name="action" value="replay" id="preview-replay">Preview replay…</button>
        <button type="submit" name="action" value="purge" id="preview-purge" class="danger">Preview purge…</button>
        </div>
        </div>
        {{/canAct}}
        <table class="jobs">
        <caption>Dead jobs, most recent first</caption>
        <thead><tr>{{#canAct}}<th scope="col"><input type="checkbox" id="select-page" aria-label="Select every job on this page"></th>{{/canAct}}<th scope="col">Job</th><th scope="col">Rule</th><th scope="col">Target</th><th scope="col">DAG</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Died</th></tr></thead>
        <tbody>
        {{#jobs}}<tr>{{#canAct}}<td><input type="checkbox" name="ids" value="{{id}}" aria-label="Select job {{id}}"></td>{{/canAct}}<td><a href="/console/jobs/{{id}}">{{id}}</a></td><td>{{rule}}</td><td>{{target}}</td><td>{{dagID}}</td><td class="reason">{{reason}}</td><td>{{attempts}}</td><td><time datetime="{{updated}}">{{updated}}</time></td></tr>
        {{/jobs}}
        {{^jobs}}<tr><td colspan="8">No dead jobs match.</td></tr>{{/jobs}}
        </tbody>
        </table>
        {{#canAct}}</form>{{/canAct}}
        <nav aria-label="Dead-letter pages" class="pager">
        {{#firstURL}}<a href="{{firstURL}}">Most recent</a>{{/firstURL}}
        {{#nextURL}}<a href="{{nextURL}}" rel="next">Older jobs</a>{{/nextURL}}
        </nav>
        {{/main}}
        {{/layout}}
        """#

    static let dlqPreview = #"""
        {{<layout}}
        {{$title}}{{heading}}{{/title}}
        {{$main}}
        <h1>{{heading}}</h1>
        <p role="status" id="summary">{{summary}}</p>
        {{#dryRun}}
        <form method="post" action="/console/dead-letters/apply" class="confirm">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
        <button type="submit" id="confirm" {{#purge}}class="danger"{{/purge}}>{{confirmLabel}}</button>
        <a href="/console/dead-letters">Cancel</a>
        </form>
        {{/dryRun}}
        {{^dryRun}}<p><a href="/console/dead-letters">Back to the dead letters</a></p>{{/dryRun}}
        <table class="results">
        <caption>{{caption}}</caption>
        <thead><tr><th scope="col">Job</th><th scope="col">Outcome</th><th scope="col">Run id sent</th><th scope="col">Run id now</th><th scope="col">Due</th><th scope="col">What happens</th></tr></thead>
        <tbody>
        {{#results}}<tr><td><a href="/console/jobs/{{id}}">{{id}}</a></td><td>{{#ok}}<span class="ok">{{okWord}}</span>{{/ok}}{{^ok}}<span class="skip">skipped</span>{{/ok}}</td><td>{{oldRunID}}</td><td>{{newRunID}}</td><td>{{due}}</td><td>{{message}}</td></tr>
        {{/results}}
        </tbody>
        </table>
        {{#more}}<p>…and {{more}} more, not listed.</p>{{/more}}
        {{/main}}
        {{/layout}}
        """#

    static let job = #"""
        {{<layout}}
        {{$title}}Job {{id}}{{/title}}
        {{$main}}
        <h1>Job {{id}} <span class="state state-{{state}}">{{state}}</span></h1>
        <dl class="facts">
        <dt>Rule</dt><dd>{{rule}}</dd>
        <dt>Target</dt><dd>{{target}}</dd>
        <dt>DAG</dt><dd>{{dagID}}</dd>
        <dt>Run id</dt><dd><code>{{runID}}</code>{{#airflowURL}} · <a href="{{airflowURL}}" rel="noreferrer noopener" target="_blank">open the run in Airflow</a>{{/airflowURL}}</dd>
        <dt>Reason</dt><dd class="reason">{{reason}}</dd>
        <dt>Attempts</dt><dd>{{attempts}} (replayed {{replays}} times)</dd>
        <dt>Created</dt><dd>{{created}}</dd>
        <dt>Last change</dt><dd>{{updated}}</dd>
        </dl>
        {{#canReplay}}
        <form method="post" action="/console/dead-letters/preview" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <input type="hidden" name="ids" value="{{id}}">
        <input type="hidden" name="scope" value="selected">
        <label for="job-mode">Replay</label>
        <select id="job-mode" name="mode"><option value="as_sent">as sent</option><option value="rerender">re-rendered by the current rules</option><option value="new_run_id">with a new run id</option></select>
        <button type="submit" name="action" value="replay">Preview replay…</button>
        <button type="submit" name="action" value="purge" class="danger">Preview purge…</button>
        </form>
        {{/canReplay}}
        <section aria-labelledby="h-attempts">
        <h2 id="h-attempts">Attempts</h2>
        <ol class="timeline">
        {{#attemptList}}<li><span class="when"><time datetime="{{at}}">{{at}}</time></span> <span class="took">{{duration}}</span> <span class="status">HTTP {{status}}</span> <span class="outcome outcome-{{outcome}}">{{outcome}}</span>
        <div class="reason">{{reason}}</div>{{#answer}}<details><summary>Airflow's answer</summary><pre>{{answer}}</pre></details>{{/answer}}</li>
        {{/attemptList}}
        {{^attemptList}}<li>No attempt was made (the trigger could not be rendered, or the job is new).</li>{{/attemptList}}
        </ol>
        </section>
        <section aria-labelledby="h-request">
        <h2 id="h-request">Rendered request</h2>
        <pre class="json">{{request}}</pre>
        </section>
        <section aria-labelledby="h-event">
        <h2 id="h-event">Event</h2>
        {{#event}}
        <p>From source <strong>{{source}}</strong>, id <a href="/console/events?id={{idQuery}}"><code>{{eventID}}</code></a>, received {{received}}.</p>
        <h3>Envelope</h3>
        <pre class="json" id="envelope">{{envelope}}</pre>
        <h3>Body as received</h3>
        <pre id="raw-body">{{rawBody}}</pre>
        {{/event}}
        {{^event}}<p>The event is no longer in the journal.</p>{{/event}}
        </section>
        <section aria-labelledby="h-audit">
        <h2 id="h-audit">Operator actions</h2>
        <ul>{{#audit}}<li>{{at}}: {{action}} by {{actor}} ({{options}}){{#detail}}: {{detail}}{{/detail}}</li>{{/audit}}{{^audit}}<li>None.</li>{{/audit}}</ul>
        </section>
        {{/main}}
        {{/layout}}
        """#

    static let events = #"""
        {{<layout}}
        {{$title}}Event lookup{{/title}}
        {{$main}}
        <h1>Event lookup</h1>
        <form method="get" action="/console/events" role="search" aria-label="Look up an event" class="filters">
        <div><label for="e-id">Event id</label><input id="e-id" name="id" value="{{query}}" maxlength="500" required></div>
        <div class="buttons"><button type="submit">Look up</button></div>
        </form>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#found}}
        <section aria-labelledby="h-ev-{{index}}">
        <h2 id="h-ev-{{index}}">{{eventID}} from {{source}}</h2>
        <p>Received {{received}}.</p>
        <h3>Runs it asked for</h3>
        <table><thead><tr><th scope="col">Job</th><th scope="col">Rule</th><th scope="col">Target</th><th scope="col">DAG</th><th scope="col">Run id</th><th scope="col">State</th><th scope="col">Reason</th></tr></thead>
        <tbody>{{#runs}}<tr><td><a href="/console/jobs/{{id}}">{{id}}</a></td><td>{{rule}}</td><td>{{target}}</td><td>{{dagID}}</td><td><code>{{runID}}</code></td><td>{{state}}</td><td>{{reason}}</td></tr>{{/runs}}
        {{^runs}}<tr><td colspan="7">No rule matched this event.</td></tr>{{/runs}}</tbody></table>
        <h3>Rules that do not match it now</h3>
        <ul>{{#misses}}<li><strong>{{rule}}</strong>: {{reason}}</li>{{/misses}}{{^misses}}<li>Every active rule matches it.</li>{{/misses}}</ul>
        <details><summary>Envelope</summary><pre class="json">{{envelope}}</pre></details>
        </section>
        {{/found}}
        {{/main}}
        {{/layout}}
        """#

    static let targets = #"""
        {{<layout}}
        {{$title}}Targets{{/title}}
        {{$main}}
        <h1>Targets</h1>
        <table>
        <caption>Since the service started</caption>
        <thead><tr><th scope="col">Target</th><th scope="col">API</th><th scope="col">Breaker</th><th scope="col">In flight</th><th scope="col">Concurrency</th><th scope="col">Max in flight</th><th scope="col">Held</th><th scope="col">Delivered</th><th scope="col">Duplicates</th><th scope="col">Retries</th><th scope="col">Dead</th><th scope="col">Last error</th></tr></thead>
        <tbody>
        {{#targets}}<tr id="t-{{name}}"><th scope="row">{{name}}</th><td>{{api}}</td><td><span class="breaker breaker-{{breaker}}">{{breaker}}</span></td><td>{{inFlight}}</td><td>{{concurrency}}</td><td>{{maxInFlight}}</td><td>{{held}}</td><td>{{delivered}}</td><td>{{duplicates}}</td><td>{{retries}}</td><td>{{dead}}</td><td>{{lastError}}{{#lastErrorAt}} <time datetime="{{lastErrorAt}}">({{lastErrorAt}})</time>{{/lastErrorAt}}</td></tr>
        {{/targets}}
        </tbody>
        </table>
        {{/main}}
        {{/layout}}
        """#

    static let rules = #"""
        {{<layout}}
        {{$title}}Rules{{/title}}
        {{$main}}
        <h1>Rules</h1>
        <p>Generation {{generation}}: {{ruleCount}} active rules.</p>
        <table>
        <thead><tr><th scope="col">Rule</th><th scope="col">Sources</th><th scope="col">Target</th><th scope="col">DAG</th><th scope="col">File</th></tr></thead>
        <tbody>{{#ruleList}}<tr><th scope="row">{{name}}</th><td>{{sources}}</td><td>{{target}}</td><td><code>{{dagID}}</code></td><td>{{file}}</td></tr>{{/ruleList}}</tbody>
        </table>
        <section aria-labelledby="h-try">
        <h2 id="h-try">Try an event</h2>
        <p>Runs the active rules on a body and headers, as <code>dagbridge rules test --explain</code> does. Nothing is triggered or stored.</p>
        <form method="post" action="/console/rules/try" class="try">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <div><label for="t-source">Source</label><select id="t-source" name="source">{{#sources}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/sources}}</select></div>
        <div><label for="t-headers">Headers, one <code>Name: value</code> per line</label><textarea id="t-headers" name="headers" rows="4">{{tryHeaders}}</textarea></div>
        <div><label for="t-body">Body</label><textarea id="t-body" name="body" rows="10">{{tryBody}}</textarea></div>
        <div class="buttons"><button type="submit">Try it</button></div>
        </form>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#trial}}
        <section aria-labelledby="h-result" id="trial">
        <h3 id="h-result">Event {{eventID}}: {{matchedCount}} rules matched</h3>
        {{#note}}<p>{{note}}</p>{{/note}}
        {{#jobs}}<article class="trial-job"><h4>{{rule}} → {{target}}</h4>
        <dl class="facts"><dt>DAG</dt><dd><code>{{dagID}}</code></dd><dt>Run id</dt><dd><code>{{runID}}</code></dd></dl>
        <pre class="json">{{conf}}</pre></article>{{/jobs}}
        {{#errors}}<p class="error"><strong>{{rule}}</strong> matched but cannot render: {{message}}</p>{{/errors}}
        <h4>Did not match</h4>
        <ul>{{#misses}}<li><strong>{{rule}}</strong>: {{reason}}</li>{{/misses}}{{^misses}}<li>Every rule matched.</li>{{/misses}}</ul>
        </section>
        {{/trial}}
        </section>
        {{/main}}
        {{/layout}}
        """#
}
