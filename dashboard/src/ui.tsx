// Small shared pieces: navigation links, error boxes, images that need the token, time cells.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, authedBlobUrl } from './api';
import { local, utc } from './lib/format.js';

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event('cw:navigate'));
}

export function Link(props: { href: string; class?: string; children: ComponentChildren; 'aria-current'?: 'page' | undefined }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props['aria-current']}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  return (
    <div class="error" role="alert">
      <span>{message}</span>
      {onRetry && !(error instanceof ApiError && [401, 403, 404].includes(error.status)) && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

// A file made in the browser handed to the user as a download named `name`.
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso} title={local(iso)}>
      {utc(iso)}
      <span class="local"> · {local(iso)}</span>
    </time>
  );
}

// The per-user setting "blur every image until clicked" (kept in this browser).
const BLUR_KEY = 'convoywatch.blur_all';
export function blurAll(): boolean {
  return localStorage.getItem(BLUR_KEY) === '1';
}
export function setBlurAll(on: boolean) {
  if (on) localStorage.setItem(BLUR_KEY, '1');
  else localStorage.removeItem(BLUR_KEY);
}

// An image behind the token (thumbnails, frames): blurred until clicked when `sensitive`.
export function AuthImg(props: { src: string; alt: string; class?: string; sensitive?: boolean; onClick?: () => void }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [revealed, setRevealed] = useState(!props.sensitive && !blurAll());
  useEffect(() => {
    let live = true;
    setFailed(null);
    authedBlobUrl(props.src).then(
      (u) => live && setUrl(u),
      (e) => live && setFailed(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [props.src]);
  if (failed) return <span class="img-missing" title={failed}>no image</span>;
  if (!url) return <span class="img-loading" aria-busy="true">loading…</span>;
  const img = <img src={url} alt={props.alt} class={`${props.class ?? ''} ${revealed ? '' : 'blurred'}`} />;
  if (!revealed) {
    return (
      <button type="button" class="reveal" aria-label={`Show sensitive image: ${props.alt}`} onClick={() => setRevealed(true)}>
        {img}
      </button>
    );
  }
  if (props.onClick) {
    return (
      <button type="button" class="img-button" aria-label={`Open ${props.alt}`} onClick={props.onClick}>
        {img}
      </button>
    );
  }
  return img;
}

// Loads `load()` whenever `deps` change; exposes data, error, loading and reload.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { data, setData, error, loading, reload: () => setN((x) => x + 1) };
}

export function FieldError({ error, field }: { error: unknown; field: string }) {
  if (!(error instanceof ApiError) || error.field !== field) return null;
  return (
    <span class="field-error" role="alert" id={`err-${field}`}>
      {error.message}
    </span>
  );
}
