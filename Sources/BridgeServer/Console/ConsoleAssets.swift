/// The console's one stylesheet and its small script, served from `/console/static/` (same
/// origin, so the Content-Security-Policy allows them without `unsafe-inline`).
enum ConsoleAssets {
    static let css = #"""
        :root { font-family: system-ui, "DejaVu Sans", sans-serif; color: #1b1f23; background: #fff; }
        body { margin: 0; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; background: #1f3b57; color: #fff; padding: 8px 16px; }
        header.top a, header.top .role { color: #fff; }
        .brand { font-weight: 700; }
        nav ul { list-style: none; display: flex; gap: 14px; margin: 0; padding: 0; }
        nav a[aria-current="page"] { font-weight: 700; text-decoration: underline; }
        form.logout { margin-left: auto; display: flex; gap: 8px; align-items: center; }
        main { padding: 12px 20px 40px; max-width: 1280px; }
        main:focus { outline: none; }
        a { color: #0b57a4; }
        a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #e09f1f; outline-offset: 1px; }
        table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
        caption { text-align: left; font-weight: 600; padding: 4px 0; }
        th, td { border-bottom: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
        thead th { background: #eef1f4; }
        td.reason, .reason { max-width: 420px; overflow-wrap: anywhere; }
        pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 8px; overflow: auto; max-height: 360px; white-space: pre-wrap; overflow-wrap: anywhere; }
        .filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; margin-bottom: 8px; }
        .filters div { display: flex; flex-direction: column; }
        label { font-size: 14px; }
        input, select, textarea, button { font: inherit; font-size: 14px; }
        textarea { width: 100%; max-width: 900px; }
        .try div { margin-bottom: 8px; display: flex; flex-direction: column; }
        button { padding: 4px 12px; border: 1px solid #1f3b57; background: #1f3b57; color: #fff; border-radius: 3px; cursor: pointer; }
        button.danger { background: #a4161a; border-color: #a4161a; }
        .actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
        fieldset { border: 1px solid #d0d7de; }
        fieldset label { display: block; }
        .error { color: #a4161a; font-weight: 600; }
        .ok { color: #11632a; font-weight: 600; }
        .skip-word, span.skip { color: #7a4a00; }
        .tiles { display: flex; flex-wrap: wrap; gap: 12px; }
        .tiles div { border: 1px solid #d0d7de; padding: 8px 14px; min-width: 120px; }
        .tiles dt { font-size: 13px; color: #444d56; }
        .tiles dd { margin: 0; font-size: 24px; font-weight: 700; }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
        figure { margin: 0; }
        figcaption { font-size: 14px; margin-bottom: 4px; }
        .breaker-open { color: #a4161a; font-weight: 700; }
        .breaker-half_open, .breaker-halfOpen { color: #7a4a00; font-weight: 700; }
        .state { font-size: 16px; padding: 2px 8px; border-radius: 3px; background: #eef1f4; }
        .state-dead { background: #fbe3e4; color: #7d1013; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; }
        ol.timeline { list-style: none; padding-left: 0; border-left: 3px solid #d0d7de; }
        ol.timeline li { margin: 0 0 10px; padding-left: 12px; }
        .outcome-dead { color: #a4161a; font-weight: 700; }
        .outcome-retry { color: #7a4a00; font-weight: 700; }
        .pager { display: flex; gap: 16px; }
        form.inline { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
        """#

    static let js = #"""
        // The dead-letter page's "select every job on this page" box; everything works without it.
        document.addEventListener("DOMContentLoaded", function () {
          var all = document.getElementById("select-page");
          if (!all) { return; }
          var boxes = function () { return document.querySelectorAll('input[type="checkbox"][name="ids"]'); };
          all.addEventListener("change", function () {
            boxes().forEach(function (b) { b.checked = all.checked; });
          });
          var form = document.getElementById("dlq-actions");
          if (form) {
            form.addEventListener("change", function (e) {
              if (e.target && e.target.name === "ids") {
                var scope = form.querySelector('input[name="scope"][value="selected"]');
                if (scope) { scope.checked = true; }
              }
            });
          }
        });
        """#
}
