// Every model's ten probabilities as bars, updated in place: Streamlit calls this function again
// with new data after every stroke, and only the bars' heights and the texts change (a Plotly chart
// would be unmounted and drawn from scratch).
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".bars");
  root.classList.toggle("projector", data.projector);
  root.classList.toggle("narrow", data.narrow);
  root.style.setProperty("--bar", data.colors.bar);
  root.style.setProperty("--best", data.colors.best);
  while (root.children.length > data.models.length) root.lastChild.remove();
  while (root.children.length < data.models.length) root.appendChild(panel());
  data.models.forEach((model, k) => fill(root.children[k], model, data, k === 0));
}

function panel() {
  const el = document.createElement("figure");
  el.className = "panel";
  el.innerHTML = '<figcaption><span class="name"></span><span class="answer"></span><span class="p"></span></figcaption>' +
    '<div class="plot"><div class="grid"></div><div class="columns"></div></div><div class="digits"></div>';
  const columns = el.querySelector(".columns"), digits = el.querySelector(".digits");
  for (let d = 0; d < 10; d++) {
    const column = document.createElement("div");
    column.className = "column";
    column.innerHTML = '<div class="bar"></div>';
    columns.appendChild(column);
    const label = document.createElement("span");
    label.textContent = String(d);
    digits.appendChild(label);
  }
  return el;
}

function fill(el, model, data, first) {
  el.dataset.model = model.name;
  el.dataset.answer = String(model.answer);
  el.querySelector(".name").textContent = model.title;
  el.querySelector(".name").title = model.full;
  el.querySelector(".answer").textContent = `→ ${model.answer}`;
  el.querySelector(".p").textContent = model.answer_text;
  el.querySelector(".grid").classList.toggle("labelled", first);
  el.querySelector(".grid").innerHTML = data.ticks.map(t => `<span style="bottom:${t.at * 100}%">${first ? t.text : ""}</span>`).join("");
  el.querySelectorAll(".column").forEach((column, d) => {
    const bar = column.firstChild;
    bar.style.height = `${model.p[d] * 100}%`;
    bar.classList.toggle("best", d === model.answer);
    column.title = model.hover[d];
    column.dataset.p = String(model.p[d]);
  });
}
