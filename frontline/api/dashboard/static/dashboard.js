/* Frontline ops dashboard: draws each figure's daily trend with Chart.js (vendored, MIT) from
   the JSON the page embeds; every chart also has its table, so nothing depends on this. */
(function () {
  "use strict";

  function format(value, unit) {
    if (value === null || value === undefined) return "—";
    if (unit === "share") return (100 * value).toFixed(0) + " %";
    if (unit === "hours") return value.toFixed(1) + " h";
    if (unit === "score") return value.toFixed(2);
    if (unit === "nps") return value.toFixed(0);
    return String(Math.round(value * 10) / 10);
  }

  function drawCharts() {
    var node = document.getElementById("chart-data");
    if (!node || !window.Chart) return 0;
    var data = JSON.parse(node.textContent);
    var drawn = 0;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var series = data[canvas.getAttribute("data-chart")];
      if (!series) return;
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: series.days.map(function (d) { return d.slice(5); }),
          datasets: [{
            label: series.label,
            data: series.values,
            borderColor: "#1a56b0",
            backgroundColor: "rgba(26, 86, 176, 0.12)",
            borderWidth: 2,
            fill: true,
            spanGaps: true,
            cubicInterpolationMode: "monotone",
            pointRadius: series.days.length > 40 ? 0 : 2
          }]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: function (item) { return format(item.raw, series.unit); }
              }
            }
          },
          scales: {
            x: { ticks: { maxTicksLimit: 6, color: "#4a5360" }, grid: { display: false } },
            y: {
              beginAtZero: true,
              ticks: {
                maxTicksLimit: 4,
                color: "#4a5360",
                callback: function (value) { return format(value, series.unit); }
              }
            }
          }
        }
      });
      canvas.setAttribute("data-drawn", "true");
      drawn += 1;
    });
    document.documentElement.setAttribute("data-charts", String(drawn));
    return drawn;
  }

  function periodPicker() {
    var form = document.getElementById("period-form");
    if (!form) return;
    var custom = form.querySelector(".custom");
    function sync() {
      var chosen = form.querySelector("input[name=days]:checked");
      var isCustom = chosen && chosen.value === "custom";
      custom.hidden = !isCustom;
      custom.querySelectorAll("input").forEach(function (input) { input.disabled = !isCustom; });
    }
    form.querySelectorAll("input[name=days]").forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    periodPicker();
    drawCharts();
  });
})();
