// The dank serve page: pick a picture or template, make memes, regenerate one,
// download one. Plain browser JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { file: null, template: null };

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

function setStatus(text) {
  $("status").textContent = text;
}

function ready() {
  $("go").disabled = !(state.file || state.template);
}

function choosePreview(src) {
  $("preview").src = src;
  $("preview").hidden = false;
  $("drop").classList.add("chosen");
}

function pickFile(file) {
  if (!file) return;
  // A browser gives no type for some picture files (.pcx, .qoi...): the server
  // judges those by their bytes.
  if (file.type && !file.type.startsWith("image/")) {
    showError(file.name + " is not a picture");
    return;
  }
  showError("");
  state.file = file;
  state.template = null;
  document.querySelectorAll(".templates button").forEach((b) => b.classList.remove("on"));
  choosePreview(URL.createObjectURL(file));
  setStatus("Picture: " + file.name);
  ready();
}

function pickTemplate(template, button) {
  state.template = template;
  state.file = null;
  $("file").value = "";
  document.querySelectorAll(".templates button").forEach((b) => b.classList.remove("on"));
  button.classList.add("on");
  choosePreview(template.image_url);
  setStatus("Template: " + template.name);
  showError("");
  ready();
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error.message;
  } catch (e) {
    return "the server answered " + response.status;
  }
}

async function searchTemplates() {
  const q = $("q").value.trim();
  const response = await fetch("/api/templates?limit=12&q=" + encodeURIComponent(q));
  if (!response.ok) {
    showError(await errorText(response));
    return;
  }
  const body = await response.json();
  const list = $("templates");
  list.replaceChildren();
  for (const template of body.templates) {
    const button = document.createElement("button");
    button.type = "button";
    button.title = template.name;
    const img = document.createElement("img");
    img.src = template.image_url;
    img.alt = "";
    img.loading = "lazy";
    const name = document.createElement("span");
    name.textContent = template.name;
    button.append(img, name);
    button.addEventListener("click", () => pickTemplate(template, button));
    const item = document.createElement("li");
    item.append(button);
    list.append(item);
  }
}

function randomSeed() {
  return Math.floor(Math.random() * 2147483647);
}

async function generate(n, seed) {
  const form = new FormData();
  if (state.file) form.append("image", state.file, state.file.name);
  if (state.template) form.append("template", state.template.id);
  form.append("n", String(n));
  form.append("decoder", $("decoder").value);
  form.append("seed", String(seed));
  const response = await fetch("/api/generate", { method: "POST", body: form });
  if (!response.ok) throw new Error(await errorText(response));
  return response.json();
}

function fillCard(card, meme, result) {
  const img = card.querySelector("img");
  img.src = meme.url;
  img.alt = [meme.top, meme.bottom].filter(Boolean).join(" / ") || "meme";
  card.querySelector(".caption").textContent = img.alt;
  card.querySelector(".template").textContent =
    (result.known ? "" : "unsure: ") + (result.template ? result.template.name : "");
  const link = card.querySelector("a");
  link.href = meme.url + "?download=1";
  link.download = "meme.png";
}

function makeCard(meme, result) {
  const card = document.createElement("figure");
  card.className = "meme";
  card.innerHTML =
    '<img alt=""><figcaption><span class="caption"></span>' +
    '<span class="template"></span></figcaption>' +
    '<div class="actions"><button type="button" class="again">Regenerate</button>' +
    '<a class="download">Download</a></div>';
  fillCard(card, meme, result);
  card.querySelector(".again").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    card.classList.add("busy");
    showError("");
    try {
      const fresh = await generate(1, randomSeed());
      fillCard(card, fresh.memes[0], fresh);
    } catch (e) {
      showError(e.message);
    } finally {
      button.disabled = false;
      card.classList.remove("busy");
    }
  });
  return card;
}

async function makeMemes(event) {
  event.preventDefault();
  showError("");
  const n = Number($("n").value);
  $("go").disabled = true;
  setStatus("Making " + n + (n === 1 ? " meme…" : " memes…"));
  try {
    const result = await generate(n, randomSeed());
    const grid = $("memes");
    grid.replaceChildren(...result.memes.map((meme) => makeCard(meme, result)));
    setStatus(result.memes.length + " memes of " +
      (result.template ? result.template.name : "your picture") +
      " (seed " + result.seed + ")");
  } catch (e) {
    setStatus("");
    showError(e.message);
  } finally {
    ready();
  }
}

const drop = $("drop");
$("file").addEventListener("change", () => pickFile($("file").files[0]));
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); }
});
["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
  e.preventDefault();
  drop.classList.add("over");
}));
["dragleave", "drop"].forEach((type) => drop.addEventListener(type, (e) => {
  e.preventDefault();
  drop.classList.remove("over");
}));
drop.addEventListener("drop", (e) => pickFile(e.dataTransfer.files[0]));
// Browsers show no TIFF, PCX...: the server still reads them, so only the
// preview goes, not the picture.
$("preview").addEventListener("error", () => { $("preview").hidden = true; });
let searchTimer = null;
$("q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(searchTemplates, 200);
});
$("decoder").addEventListener("change", () => {
  if ($("decoder").value === "greedy") $("n").value = "1";
});
$("options").addEventListener("submit", makeMemes);

async function start() {
  try {  // The server's default decoder is the page's default too.
    const health = await (await fetch("/healthz")).json();
    $("decoder").value = health.decoder;
  } catch (e) {
    showError("the server is not answering");
  }
  await searchTemplates();
}
start();
