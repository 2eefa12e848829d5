/**
 * The hosted pages' scripts (each under the response's CSP nonce), kept short: their text
 * is part of the Worker's bundle. No network request of their own: the forms post.
 *
 * WEBAUTHN_JSON: the WebAuthn L3 JSON of request options and of an assertion, by hand
 * where the browser lacks parseRequestOptionsFromJSON or toJSON. Shared by both scripts.
 */
const WEBAUTHN_JSON = `const b64=(t)=>{const s=t.replace(/-/g,'+').replace(/_/g,'/');return Uint8Array.from(atob(s+'='.repeat((4-s.length%4)%4)),(c)=>c.charCodeAt(0)).buffer};
const enc=(b)=>b?btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g,'-').replace(/\\//g,'_').replace(/=+$/,''):undefined;
const optionsOf=(j)=>typeof PublicKeyCredential.parseRequestOptionsFromJSON==='function'?PublicKeyCredential.parseRequestOptionsFromJSON(j):{...j,challenge:b64(j.challenge),allowCredentials:(j.allowCredentials||[]).map((d)=>({...d,id:b64(d.id)}))};
const asJson=(c)=>{if(typeof c.toJSON==='function')return c.toJSON();const r=c.response;return{id:c.id,rawId:enc(c.rawId),type:c.type,authenticatorAttachment:c.authenticatorAttachment||undefined,clientExtensionResults:c.getClientExtensionResults(),response:{clientDataJSON:enc(r.clientDataJSON),authenticatorData:enc(r.authenticatorData),signature:enc(r.signature),userHandle:enc(r.userHandle)}}};
`;

/**
 * The passkey step's script: on the passkey form's submit it asks the browser for an
 * assertion (navigator.credentials.get with the options the server embedded as JSON),
 * writes its JSON into the form and submits it.
 */
export const PASSKEY_SCRIPT = `(()=>{const form=document.getElementById('passkey-form');const source=document.getElementById('passkey-options');
if(!form||!source||typeof window.PublicKeyCredential!=='function')return;
${WEBAUTHN_JSON}const options=optionsOf(JSON.parse(source.textContent));let ready=false;
form.addEventListener('submit',async(event)=>{if(ready)return;event.preventDefault();const status=document.getElementById('passkey-status');
try{form.elements.response.value=JSON.stringify(asJson(await navigator.credentials.get({publicKey:options})));ready=true;form.requestSubmit();}
catch{if(status)status.textContent='The passkey was not used. Try again, or use a code.';}});})();`;

/**
 * The sign-in page's script, for passwordless sign-in (issue 21). Autofill: while the page
 * shows, a conditional request (mediation "conditional") lets the username field offer
 * this site's passkeys; picking one fills the passkey form's `response` and posts it.
 * "Sign in with a passkey": the same through the browser's dialog. Sending the password
 * form, or pressing the button, aborts the pending conditional request (AbortController)
 * and waits for it to end (`settled`), so the browser takes the next one; an abort, or
 * nothing picked, shows nothing. A browser without WebAuthn hides the passkey form.
 */
export const SIGNIN_PASSKEY_SCRIPT = `(()=>{const form=document.getElementById('signin-passkey-form');const source=document.getElementById('signin-passkey-options');
if(!form||!source)return;if(typeof window.PublicKeyCredential!=='function'||!navigator.credentials){form.hidden=true;return;}
${WEBAUTHN_JSON}const options=optionsOf(JSON.parse(source.textContent));const status=document.getElementById('signin-passkey-status');
let sent=false,pending=null,settled=Promise.resolve();
const send=(c)=>{if(sent||!c)return;sent=true;form.elements.response.value=JSON.stringify(asJson(c));HTMLFormElement.prototype.submit.call(form);};
const stop=()=>{if(pending)pending.abort();pending=null;return settled;};
const autofill=async()=>{await stop();const check=PublicKeyCredential.isConditionalMediationAvailable;let ok=false;
try{ok=typeof check==='function'&&await check.call(PublicKeyCredential);}catch{ok=false;}if(!ok||sent)return;
const controller=new AbortController();pending=controller;const request=navigator.credentials.get({publicKey:options,mediation:'conditional',signal:controller.signal});
settled=request.then(()=>undefined,()=>undefined);try{const c=await request;if(pending===controller){pending=null;send(c);}}catch{if(pending===controller)pending=null;}};
const password=document.querySelector('form[action="/authorize/password"]');if(password)password.addEventListener('submit',stop);
form.addEventListener('submit',async(event)=>{if(sent)return;event.preventDefault();if(status)status.textContent='';await stop();
try{send(await navigator.credentials.get({publicKey:options}));}
catch{if(status)status.textContent='No passkey was used: the request was cancelled, timed out, or this device holds no passkey for this site. Try again, or use your password.';void autofill();}});
void autofill();})();`;
