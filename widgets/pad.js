// The digit pad: a 260x260 canvas drawn with pointer events (mouse, touch and pen alike), white
// strokes on a clear background (shown on black), sent to Python as a PNG data URL while the pen moves and at once when it lifts.
// Streamlit calls this function again whenever the page passes new data (a new brush, or the
// number of the last drawing the server has read); the pad's own state lives on its root element,
// so strokes survive those calls.
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".pad");
  const pad = root.__pad || (root.__pad = setUp(root, setStateValue));
  pad.update(data);
}

function setUp(root, setStateValue) {
  const canvas = root.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const undo = root.querySelector("[data-action='undo']");
  const clear = root.querySelector("[data-action='clear']");
  const state = { strokes: [], current: null, brush: 20, throttle: 100, sent: 0, read: 0, lastSend: 0, timer: null };

  function paint() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);  // clear, as streamlit-drawable-canvas sent it
    for (const s of state.strokes) line(s);
    undo.disabled = clear.disabled = state.strokes.length === 0;
  }

  function line(s) {  // a quadratic curve through the midpoints, as a freehand brush draws
    const p = s.points;
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    ctx.lineWidth = s.width;
    ctx.lineCap = ctx.lineJoin = "round";
    if (p.every(q => q[0] === p[0][0] && q[1] === p[0][1])) {  // a click: one dab of the brush
      ctx.beginPath();
      ctx.arc(p[0][0], p[0][1], s.width / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(p[0][0], p[0][1]);
    for (let i = 1; i < p.length - 1; i++) {
      ctx.quadraticCurveTo(p[i][0], p[i][1], (p[i][0] + p[i + 1][0]) / 2, (p[i][1] + p[i + 1][1]) / 2);
    }
    ctx.lineTo(p[p.length - 1][0], p[p.length - 1][1]);
    ctx.stroke();
  }

  // One drawing in flight at a time while the pen moves (the server's answer to the last one comes
  // back as data.read), at most one per `throttle` ms; the pen's lift is always sent.
  function send(final) {
    clearTimeout(state.timer);
    state.timer = null;
    const now = performance.now();
    if (!final && (state.read < state.sent || now - state.lastSend < state.throttle)) {
      state.timer = setTimeout(() => send(false), state.throttle);
      return;
    }
    state.lastSend = now;
    state.sent += 1;
    window.__netlensPad = { sent: state.sent, read: state.read };  // for the benchmark's clock
    setStateValue("drawing", { png: state.strokes.length ? canvas.toDataURL("image/png") : null, n: state.sent });
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  }

  canvas.addEventListener("pointerdown", event => {
    if (event.button !== 0 || state.current) return;
    canvas.setPointerCapture(event.pointerId);
    state.current = { id: event.pointerId, width: state.brush, points: [point(event)] };
    state.strokes.push(state.current);
    paint();
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", event => {
    if (!state.current || event.pointerId !== state.current.id) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of (events.length ? events : [event])) state.current.points.push(point(e));
    paint();
    send(false);
  });
  const lift = event => {
    if (!state.current || event.pointerId !== state.current.id) return;
    state.current = null;
    send(true);
  };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  undo.addEventListener("click", () => { state.strokes.pop(); paint(); send(true); });
  clear.addEventListener("click", () => { state.strokes = []; paint(); send(true); });

  return {
    update(data) {
      const px = data.size;
      if (canvas.width !== px) { canvas.width = canvas.height = px; }
      canvas.style.width = canvas.style.height = `${px}px`;
      state.brush = data.brush;
      state.throttle = data.throttle;
      state.read = Math.max(state.read, data.read || 0);
      window.__netlensPad = { sent: state.sent, read: state.read };
      undo.textContent = data.labels.undo;
      clear.textContent = data.labels.clear;
      undo.title = data.labels.undo_help;
      clear.title = data.labels.clear_help;
      canvas.setAttribute("aria-label", data.labels.canvas);
      paint();
    },
  };
}
