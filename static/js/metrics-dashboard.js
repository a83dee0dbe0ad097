/* The dashboard's trend charts (Chart.js, vendored) and the data-table toggles.
 * Data comes from the <script type="application/json" id="dashboard-data"> block that the page
 * renders with json_script; nothing here is inline, so the strict CSP holds. */
(function () {
  "use strict";

  function onReady(run) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  function setUpTableToggles() {
    document.querySelectorAll("[data-toggle-table]").forEach(function (button) {
      var table = document.getElementById(button.getAttribute("data-toggle-table"));
      if (!table) {
        return;
      }
      table.classList.add("is-collapsed");
      button.hidden = false;
      button.addEventListener("click", function () {
        var collapsed = table.classList.toggle("is-collapsed");
        button.setAttribute("aria-expanded", collapsed ? "false" : "true");
        button.textContent = collapsed ? "Show the data table" : "Hide the data table";
      });
    });
  }

  function formatValue(value, unit) {
    if (value === null || value === undefined) {
      return "no data";
    }
    return (unit === "%" ? value.toFixed(1) + " %" : value.toFixed(1) + " h");
  }

  function drawCharts(data) {
    if (typeof window.Chart === "undefined") {
      return;
    }
    data.charts.forEach(function (series) {
      var canvas = document.querySelector('canvas[data-chart="' + series.key + '"]');
      if (!canvas) {
        return;
      }
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [{
            label: series.title,
            data: series.values,
            borderColor: "#0b4f9c",
            backgroundColor: "#0b4f9c",
            pointRadius: 4,
            pointHoverRadius: 6,
            tension: 0.2,
            spanGaps: false
          }]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            y: {
              beginAtZero: true,
              ticks: {
                callback: function (value) {
                  return value + (series.unit === "%" ? " %" : " h");
                }
              }
            }
          },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: function (context) {
                  return series.title + ": " + formatValue(context.parsed.y, series.unit);
                }
              }
            }
          },
          onClick: function (event, elements) {
            if (elements.length && series.urls) {
              window.location.assign(series.urls[elements[0].index]);
            }
          }
        }
      });
      canvas.setAttribute("data-rendered", "true");
    });
  }

  onReady(function () {
    setUpTableToggles();
    var source = document.getElementById("dashboard-data");
    if (source) {
      drawCharts(JSON.parse(source.textContent));
    }
  });
})();
