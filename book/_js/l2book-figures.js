/* The book's plotly figures on narrow screens (served with the book; html_js_files in
 * _config.yml).
 *
 * A legend beside the plot takes ~250 px: at a phone's 390 px it leaves the plot area ~130 px.
 * Below NARROW_PX of figure width, every figure whose legend stands beside its plot gets it
 * below instead: a horizontal legend at the bottom of the figure, under the sliders, with the
 * figure made taller by the legend's height (again whenever a slider changes which entries it
 * lists), so the plot area and the sliders keep their size. Wider again, the figure's own layout
 * comes back. The figures themselves (l2lib.figures) stay as they are: this is a view of them,
 * applied with Plotly.relayout on load and on resize. tests/test_chapters.py checks it at 390 px
 * in a real browser. */
(function () {
  "use strict";
  var NARROW_PX = 600; // figure width below which the legend goes below the plot
  var GAP_PX = 8; // between the sliders (or the x axis) and the legend
  var RIGHT_PX = 24; // right margin once nothing stands right of the plot
  var KEY = "__l2bookLegendBelow"; // on the figure's div: what to restore, while below

  function besidePlot(gd) {
    var full = gd._fullLayout;
    return full && full.showlegend && full.legend && full.legend.orientation !== "h";
  }

  /** The figure's div and, if it has a CSS height of its own, the div plotly.py wraps it in. */
  function boxes(gd) {
    var parent = gd.parentElement;
    return parent && parent.style.height ? [gd, parent] : [gd];
  }

  /** A height given to Plotly.relayout freezes the width unless it is given too, and a width
   * of null returns to the width the figure had when it was first drawn: measure it again. */
  function autoWidth(gd) {
    return Plotly.Plots.resize(gd);
  }

  function setHeight(gd, px) {
    boxes(gd).forEach(function (e) {
      e.style.height = px + "px";
    });
  }

  /** Make the figure as much taller than it was as its legend (below it) is high. */
  function room(gd) {
    var state = gd[KEY];
    var legend = gd.querySelector(".legend");
    var extra = legend ? Math.ceil(legend.getBoundingClientRect().height) + GAP_PX : 0;
    if (!state || extra === state.extra) return Promise.resolve();
    state.extra = extra;
    // The CSS heights plotly.py writes (on the figure's div and on the div around it) grow
    // too, or the legend would spill over whatever follows the figure.
    setHeight(gd, state.height + extra);
    return Plotly.relayout(gd, {
      height: state.height + extra,
      width: null,
      "margin.b": state.marginB + extra,
    }).then(autoWidth);
  }

  function below(gd) {
    var lay = gd.layout || {};
    var margin = lay.margin || {};
    gd[KEY] = {
      // the figure's own layout, restored when the figure is wide again
      legend: JSON.parse(JSON.stringify(lay.legend || {})),
      layoutMarginB: margin.b === undefined ? null : margin.b,
      layoutMarginR: margin.r === undefined ? null : margin.r,
      styleHeights: boxes(gd).map(function (e) {
        return e.style.height;
      }),
      // what it measured, to which the legend's height is added
      height: gd._fullLayout.height,
      marginB: gd._fullLayout.margin.b,
      extra: 0,
    };
    if (!gd.__l2bookListens) {
      gd.__l2bookListens = true;
      // A slider's step (restyle) changes which traces, hence which legend entries, are shown.
      gd.on("plotly_restyle", function () {
        if (gd[KEY]) run(gd, room);
      });
    }
    return Plotly.relayout(gd, {
      "legend.orientation": "h",
      "legend.xref": "container",
      "legend.yref": "container",
      "legend.x": 0,
      "legend.xanchor": "left",
      "legend.y": 0,
      "legend.yanchor": "bottom",
      "margin.r": Math.min(gd._fullLayout.margin.r, RIGHT_PX),
    }).then(function () {
      return room(gd);
    });
  }

  function beside(gd) {
    var state = gd[KEY];
    delete gd[KEY];
    boxes(gd).forEach(function (e, i) {
      e.style.height = state.styleHeights[i];
    });
    // Plotly's own resizing reads the height from those CSS heights; here it is given as it
    // was measured, and the width is measured again.
    return Plotly.relayout(gd, {
      legend: state.legend,
      height: state.height,
      width: null,
      "margin.b": state.layoutMarginB,
      "margin.r": state.layoutMarginR,
    }).then(autoWidth);
  }

  /** Run one change of layout at a time per figure; mark the result on the div. */
  function run(gd, change) {
    if (gd.__l2bookBusy) return;
    gd.__l2bookBusy = true;
    var done = function () {
      gd.__l2bookBusy = false;
      gd.dataset.l2bookLegend = gd[KEY] ? "below" : "beside";
    };
    change(gd).then(done, done);
  }

  function fit(gd) {
    if (!window.Plotly || !gd._fullLayout) return;
    var width = gd.getBoundingClientRect().width;
    if (width === 0) return; // folded or not laid out: the next resize tries again
    var narrow = width < NARROW_PX;
    if (narrow && !gd[KEY] && besidePlot(gd)) run(gd, below);
    else if (!narrow && gd[KEY]) run(gd, beside);
  }

  function fitAll() {
    document.querySelectorAll(".plotly-graph-div").forEach(fit);
  }

  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(fitAll, 150);
  });
  // Figures are drawn by inline scripts while the page loads; some finish after "load".
  window.addEventListener("load", function () {
    fitAll();
    var tries = 0;
    var poll = setInterval(function () {
      fitAll();
      var pending = Array.prototype.some.call(
        document.querySelectorAll(".plotly-graph-div"),
        function (gd) {
          return !gd._fullLayout;
        }
      );
      if (!pending || ++tries > 20) clearInterval(poll);
    }, 250);
  });
})();
