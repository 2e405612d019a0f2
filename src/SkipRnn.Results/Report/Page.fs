namespace SkipRnn.Results.Report

open System
open System.IO
open System.Text
open Plotly.NET

/// The report as one self-contained HTML file: plotly.js is inlined from the copy that ships inside the
/// Plotly.NET package, so the page opens offline. Each chart's figure (data, layout, config) sits in a
/// <script type="application/json" data-figure="…"> element that a few lines of script hand to Plotly.
module Page =

    let plotlyJs =
        lazy
            (let assembly = typeof<GenericChart>.Assembly
             let name = assembly.GetManifestResourceNames() |> Array.find (fun n -> n.EndsWith ".min.js")
             use stream = assembly.GetManifestResourceStream name
             use reader = new StreamReader(stream)
             reader.ReadToEnd())

    let private style =
        """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1150px; margin: 2em auto; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 2.2em; border-bottom: 1px solid #ddd; }
.meta { color: #555; } .scale { color: #7a4b00; background: #fff6e5; padding: 0.3em 0.6em; border-radius: 4px; font-size: 0.92em; }
.caption { font-size: 0.95em; } .charts { display: flex; flex-wrap: wrap; gap: 0.5em; }
.empty { color: #a00; font-style: italic; }
table.table1 { border-collapse: collapse; font-size: 0.9em; margin-top: 0.8em; }
table.table1 th, table.table1 td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
table.table1 td.task { text-align: left; font-weight: 600; }
table.table1 tr.quantity td { background: #f3f3f3; text-align: left; font-weight: 600; }
table.table1 td.best { background: #d9f2d9; font-weight: 700; }
table.table1 td.closest { background: #fbf3c9; }
.paper { color: #888; font-size: 0.85em; font-weight: normal; } .failed { color: #b00; } .note { color: #b00; font-size: 0.8em; font-weight: normal; }
.missing { color: #aaa; }
.answer { font-size: 1.25em; font-weight: 700; margin: 0.4em 0; }
table.claims { border-collapse: collapse; font-size: 0.88em; margin-top: 0.5em; }
table.claims th, table.claims td { border: 1px solid #ddd; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
table.claims td.statement { width: 34%; } table.claims td.evidence { width: 44%; }
table.claims details { color: #666; font-size: 0.88em; } table.claims summary { cursor: pointer; color: #36c; }
td.verdict { font-weight: 700; white-space: nowrap; }
td.shown { background: #d9f2d9; } td.contradicted { background: #f8d0d0; } td.notshown { background: #fbf3c9; } td.nottested { background: #eee; color: #777; }
"""

    let private script =
        """
document.querySelectorAll('script[data-figure]').forEach(function (s) {
  var f = JSON.parse(s.textContent);
  Plotly.newPlot(s.getAttribute('data-figure'), f.data, f.layout, f.config);
});
"""

    let private encode (s: string) = Net.WebUtility.HtmlEncode s

    let private section (add: string -> unit) (f: ReportSection) =
        add (sprintf "<section id=\"%s\"><h2>%s</h2>" f.Id (encode f.Title))
        add (sprintf "<p class=\"scale\">%s</p>" (encode f.Scale))
        if f.Points = 0 then add "<p class=\"empty\">No results stored for this figure at this profile (see its scale above): run its stage, or a larger profile.</p>"
        add "<div class=\"charts\">"
        f.Charts |> List.iteri (fun i chart ->
            let id = sprintf "%s-chart-%d" f.Id i
            add (sprintf "<div id=\"%s\"></div>" id)
            let json = GenericChart.toJson chart
            add (sprintf "<script type=\"application/json\" data-figure=\"%s\">%s</script>" id (json.Replace("</", "<\\/"))))
        add "</div>"
        add f.Html
        add (sprintf "<p class=\"caption\">%s</p></section>" (encode f.Caption))

    /// The whole page: a heading with the intro (HTML), the lead section (the claims), the contents, then
    /// every figure.
    let render (title: string) (intro: string) (lead: ReportSection) (figures: ReportSection list) =
        let sb = StringBuilder()
        let add (s: string) = sb.Append s |> ignore
        add "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        add (sprintf "<title>%s</title><style>%s</style>" (encode title) style)
        add "<script>"
        add (plotlyJs.Force())
        add "</script></head><body>"
        add (sprintf "<h1>%s</h1><div class=\"meta\">%s</div>" (encode title) intro)
        section add lead
        add "<ul>"
        for f in figures do add (sprintf "<li><a href=\"#%s\">%s</a></li>" f.Id (encode f.Title))
        add "</ul>"
        for f in figures do section add f
        add (sprintf "<script>%s</script></body></html>" script)
        sb.ToString()
