(function(){
var root=document.getElementById("__ROOT__");if(!root)return;
var pinned=null;
function all(sel){return Array.prototype.slice.call(root.querySelectorAll(sel));}
function q(attr,v){return all("["+attr+"~=\""+v+"\"]");}
function clear(){root.classList.remove("focusing");all(".hl,.sel").forEach(function(e){e.classList.remove("hl","sel");});}
function focus(el){
  clear();if(!el)return;
  var m=el.getAttribute("data-m"),c=el.getAttribute("data-c"),gc=el.getAttribute("data-gc");
  root.classList.add("focusing");
  if(c)q("data-c",c).forEach(function(e){e.classList.add("hl");});
  if(gc)q("data-gc",gc).forEach(function(e){e.classList.add("hl");});
  var own=el.classList.contains("mention")||el.tagName==="TR";
  if(m&&own)m.split(" ").forEach(function(id){q("data-m",id).forEach(function(e){e.classList.add("hl","sel");});});
}
function target(ev){var e=ev.target;while(e&&e!==root){if(e.classList&&(e.classList.contains("mention")||e.classList.contains("box")||e.classList.contains("legend-item")||e.tagName==="TR"&&e.hasAttribute("data-m")))return e;e=e.parentNode;}return null;}
root.addEventListener("mouseover",function(ev){var t=target(ev);if(t)focus(t);});
root.addEventListener("mouseout",function(ev){var t=target(ev);if(t&&!(ev.relatedTarget&&t.contains(ev.relatedTarget)))focus(pinned);});
root.addEventListener("click",function(ev){var t=target(ev);if(!t)return;ev.stopPropagation();pinned=(pinned===t)?null:t;focus(pinned);root.setAttribute("data-pinned",pinned?(pinned.getAttribute("data-m")||pinned.getAttribute("data-c")||""):"");});
root.addEventListener("focusin",function(ev){var t=target(ev);if(t)focus(t);});
root.addEventListener("keydown",function(ev){if(ev.key==="Enter"){var t=target(ev);if(t){pinned=t;focus(t);}}});
document.addEventListener("keydown",function(ev){if(ev.key==="Escape"){pinned=null;focus(null);}});
all("input[data-toggle]").forEach(function(cb){var f=function(){root.classList.toggle(cb.getAttribute("data-toggle"),cb.checked);};cb.addEventListener("change",f);f();});
})();
