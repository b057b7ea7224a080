// Edgewatch dashboard behaviour: draws charts from server-built specs, keeps htmx panels honest.
// No inline scripts anywhere: this file and the vendored libraries are all the page runs, so a
// Content-Security-Policy of `script-src 'self'` holds.
(function () {
  "use strict";

  // Colours come from CSS variables, so charts follow the light or dark theme.
  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function pathsFor(style) {
    if (style === "step") return uPlot.paths.stepped({ align: 1 });
    if (style === "bars") return uPlot.paths.bars({ size: [0.6, 8] });
    if (style === "points") return function () { return null; };
    return undefined; // uPlot's default: straight lines
  }

  // A scale's range fits its data with a little room, but never leaves its bounds
  // (prices stay within 0..1), so small moves are visible instead of a flat line.
  function boundedRange(bounds) {
    return function (u, min, max) {
      if (min == null || max == null) return [bounds[0], bounds[1]];
      var pad = Math.max((max - min) * 0.1, (bounds[1] - bounds[0]) * 0.02);
      return [Math.max(bounds[0], min - pad), Math.min(bounds[1], max + pad)];
    };
  }

  function utcDate(seconds) {
    return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC");
  }

  function optionsFor(spec, width, height) {
    var text = cssVar("--muted");
    var grid = cssVar("--border");
    var series = [{ label: spec.timeAxis ? "Time (UTC)" : spec.xLabel }];
    spec.series.forEach(function (s) {
      var colour = cssVar("--chart-" + s.colour) || cssVar("--accent");
      var entry = {
        label: s.label,
        stroke: colour,
        width: s.style === "points" ? 0 : 1.5,
        scale: s.scale,
        spanGaps: s.style !== "points",
        points: s.style === "points"
          ? { show: true, size: 9, stroke: colour, fill: colour }
          : { show: false },
      };
      if (s.dash) entry.dash = [6, 4];
      if (s.style === "bars") entry.fill = colour;
      var paths = pathsFor(s.style);
      if (paths) entry.paths = paths;
      series.push(entry);
    });
    var scales = { x: { time: spec.timeAxis } };
    Object.keys(spec.ranges).forEach(function (name) {
      scales[name] = Object.assign(scales[name] || {}, { range: boundedRange(spec.ranges[name]) });
    });
    var axisStyle = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width: width,
      height: height,
      tzDate: utcDate,
      scales: scales,
      series: series,
      cursor: { drag: { x: spec.timeAxis, y: false } },
      axes: [
        Object.assign({ label: spec.timeAxis ? "" : spec.xLabel }, axisStyle),
        Object.assign({ label: spec.units.y || "", size: 60 }, axisStyle),
      ],
      legend: { live: true },
    };
  }

  function drawChart(element) {
    if (element.dataset.drawn) return;
    var source = document.getElementById(element.dataset.chart);
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var height = parseInt(element.dataset.height || "300", 10);
    var width = Math.max(element.clientWidth, 280);
    var plot = new uPlot(optionsFor(spec, width, height), data, element);
    element.dataset.drawn = "true";
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var next = Math.max(element.clientWidth, 280);
        if (next !== plot.width) plot.setSize({ width: next, height: height });
      }).observe(element);
    }
  }

  function drawCharts(root) {
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll(".chart[data-chart]").forEach(drawChart);
  }

  function showBanner(message) {
    var banner = document.getElementById("live-banner");
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "live-banner";
      banner.className = "banner";
      banner.setAttribute("role", "status");
      document.body.insertBefore(banner, document.body.firstChild);
    }
    banner.textContent = message;
    banner.hidden = false;
  }

  function hideBanner() {
    var banner = document.getElementById("live-banner");
    if (banner) banner.hidden = true;
  }

  function toLogin() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/auth/login?next=" + encodeURIComponent(here));
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    document.querySelectorAll("[data-back]").forEach(function (button) {
      button.addEventListener("click", function () { window.history.back(); });
    });
  });

  // htmx: new content may hold charts; a failed refresh says so instead of failing silently.
  document.addEventListener("htmx:load", function (event) { drawCharts(event.target); });
  document.addEventListener("htmx:afterSwap", hideBanner);
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 401) {
      toLogin(); // the session expired: sign in again and come back here
      return;
    }
    showBanner("Live update failed (HTTP " + status + "); showing the last data received. Retrying…");
  });
  document.addEventListener("htmx:sendError", function () {
    showBanner("Cannot reach Edgewatch; showing the last data received. Retrying…");
  });
})();
