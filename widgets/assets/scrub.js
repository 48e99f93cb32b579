// A slider whose charts follow it: every value the thumb takes is announced to the tab at once
// (window.__netlensScrub[group] and a "netlens-scrub" event, which `assets/chart.js` listens to)
// and sent to the server as {v: value, n: how many sent, id: this slider's}, one value in flight at a time while it
// is dragged (the server's answer comes back as data.read), at most one per `throttle` ms; a key
// press or the thumb's release is always sent. Streamlit calls this again with new data; the
// slider's own state lives on its root element.
// The element's stylesheet, added to the page once per tab (this module is imported once: widgets/served.py).
const sheet = Object.assign(document.createElement("link"), { rel: "stylesheet", href: new URL("scrub.css", import.meta.url).href });
document.head.appendChild(sheet);

export default function ({ data, parentElement, setStateValue }) {
  const root = parentElement.querySelector(".netlens-scrub");
  const slider = root.__scrub || (root.__scrub = setUp(root, setStateValue));
  slider.update(data);
}

function setUp(root, setStateValue) {
  const input = root.querySelector("input");
  const output = root.querySelector("output");
  // `id`: a slider mounted again (its page left and opened again) counts its values from 1 anew.
  const state = { group: null, sent: 0, read: 0, last: null, lastSend: 0, timer: null, throttle: 100,
                  id: Math.random().toString(36).slice(2) };

  function show() {
    const low = Number(input.min), high = Number(input.max), value = Number(input.value);
    const share = high > low ? (value - low) / (high - low) : 0;
    output.textContent = String(value);
    // The thumb's centre: its 0.75rem width keeps it inside the track at either end.
    output.style.left = `calc(${share * 100}% + ${(0.5 - share) * 0.75}rem)`;
    input.style.setProperty("--fill", `${share * 100}%`);
    input.setAttribute("aria-valuetext", String(value));
  }

  function announce() {
    const value = Number(input.value);
    const scrubs = window.__netlensScrub || (window.__netlensScrub = {});
    scrubs[state.group] = { value, at: performance.now() };
    window.dispatchEvent(new CustomEvent("netlens-scrub", { detail: { group: state.group, value } }));
  }

  function send(final) {
    clearTimeout(state.timer);
    state.timer = null;
    const value = Number(input.value);
    if (value === state.last) return;
    const now = performance.now();
    if (!final && (state.read < state.sent || now - state.lastSend < state.throttle)) {
      state.timer = setTimeout(() => send(false), state.throttle);
      return;
    }
    state.last = value;
    state.lastSend = now;
    state.sent += 1;
    setStateValue("value", { v: value, n: state.sent, id: state.id });
  }

  let dragging = false;
  input.addEventListener("pointerdown", () => { dragging = true; });
  window.addEventListener("pointerup", () => { if (dragging) { dragging = false; send(true); } });
  input.addEventListener("input", () => { show(); announce(); send(!dragging); });
  input.addEventListener("change", () => send(true));
  // A chart that follows this slider was clicked (assets/chart.js): the thumb goes to that value.
  window.addEventListener("netlens-scrub", function follow(event) {
    if (!root.isConnected) return window.removeEventListener("netlens-scrub", follow);  // the page was left
    const { group, value, source } = event.detail;
    if (source !== "chart" || group !== state.group || value === Number(input.value)) return;
    if (value < Number(input.min) || value > Number(input.max)) return;
    input.value = String(value);
    show();
    send(true);
  });

  return {
    update(data) {
      state.group = root.dataset.group = data.group;  // the charts following it name it too (data-scrub-group)
      state.throttle = data.throttle;
      state.read = data.read;
      root.querySelector(".text").textContent = data.label;
      input.setAttribute("aria-label", data.label);
      const help = root.querySelector(".help");
      help.hidden = !data.help;
      help.title = data.help || "";
      help.setAttribute("aria-label", data.help || "");
      root.querySelector(".low").textContent = String(data.min);
      root.querySelector(".high").textContent = String(data.max);
      input.min = String(data.min);
      input.max = String(data.max);
      // The server's value, unless the thumb has moved on since (a value not sent yet, or not read);
      // a new slider always tells the tab (which may hold a value from a page left before).
      if (state.last === null || (state.read >= state.sent && state.timer === null && Number(input.value) !== data.value)) {
        input.value = String(data.value);
        state.last = data.value;
        announce();
      }
      show();
    },
  };
}
