// A Plotly chart kept across reruns: Streamlit calls this function again with the new figure, and
// Plotly.react updates the same plot (st.plotly_chart would unmount it and draw it from scratch).
// plotly.js is loaded once per tab, from the URL the server gives (the plotly package's own file).
export default function ({ data, parentElement }) {
  const root = parentElement.querySelector(".netlens-chart");
  const state = root.__netlens || (root.__netlens = setUp(root));
  const button = root.querySelector(".fullscreen");
  state.labels = data.labels;
  button.title = button.ariaLabel = document.fullscreenElement === root ? data.labels.close : data.labels.open;
  if (state.figure === data.figure) return;
  state.figure = data.figure;
  state.config = data.config;
  root.dataset.drawing = "true";  // until plotly.js has drawn this figure (a clock can wait for it)
  plotly(data.plotly).then(Plotly => draw(Plotly, root, state));
}

function plotly(url) {
  if (!window.__netlensPlotly) {
    window.__netlensPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__netlensPlotly = null; reject(new Error(`plotly.js not loaded from ${url}`)); };
      document.head.appendChild(script);
    });
  }
  return window.__netlensPlotly;
}

function setUp(root) {
  const state = { figure: null, drawn: null, height: 450 };
  const plot = root.querySelector(".plot");
  let queued = false;
  // The container's size changes (sidebar, window, fullscreen, a tab shown): Plotly follows it, and
  // a figure that came while the chart was hidden is drawn now.
  new ResizeObserver(() => {
    if (queued || !window.Plotly) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      if (!shown(root)) return;
      if (state.figure !== state.drawn) draw(window.Plotly, root, state);
      else if (state.drawn) window.Plotly.Plots.resize(plot);
    });
  }).observe(root);
  root.querySelector(".fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement === root) document.exitFullscreen();
    else root.requestFullscreen();
  });
  root.addEventListener("fullscreenchange", () => {
    const full = document.fullscreenElement === root;
    const button = root.querySelector(".fullscreen");
    button.title = button.ariaLabel = full ? state.labels.close : state.labels.open;
    // The whole screen while fullscreen; back to the container's width and the figure's height after.
    if (window.Plotly && state.drawn) {
      window.Plotly.relayout(plot, full ? { width: window.innerWidth, height: window.innerHeight }
        : { width: null, height: state.height });
    }
  });
  return state;
}

// False inside a hidden container (display: none, as Streamlit's tabs that are not chosen).
const shown = el => el.getClientRects().length > 0;

function draw(Plotly, root, state) {
  const figure = state.figure;
  if (figure === state.drawn) return;
  if (!shown(root)) {  // hidden (a tab not shown): drawn when it is shown, at its real width
    delete root.dataset.drawing;
    return;
  }
  const { data, layout = {}, frames } = JSON.parse(figure);
  state.height = layout.height || 450;
  if (document.fullscreenElement === root) layout.height = window.innerHeight;
  layout.autosize = true;
  delete layout.width;
  state.drawn = figure;
  // Plotly.react keeps the plot's div (and whatever the page put on it) and redraws what changed.
  return Plotly.react(root.querySelector(".plot"), { data, layout, frames, config: state.config }).then(() => {
    if (state.drawn === state.figure) delete root.dataset.drawing;
  });
}
