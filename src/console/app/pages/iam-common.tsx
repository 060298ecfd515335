import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from '../api';

/** The error of a refused or failed action; `act` runs it, then reloads with `then` when it succeeded. */
export function useProblems(): {
  problem: string;
  setProblem: (s: string) => void;
  act: (fn: () => Promise<unknown>, then?: () => Promise<void>) => Promise<boolean>;
} {
  const [problem, setProblem] = useState('');
  const act = async (fn: () => Promise<unknown>, then?: () => Promise<void>): Promise<boolean> => {
    setProblem('');
    try {
      await fn();
    } catch (e) {
      setProblem(errorText(e));
      return false;
    }
    if (then !== undefined) await then().catch((e: unknown) => setProblem(errorText(e)));
    return true;
  };
  return { problem, setProblem, act };
}

export function Problem({ text }: { text: string }) {
  return text === '' ? null : <p role="alert" class="error">{text}</p>;
}

/** A list the signed-in user may not read: the refusal in plain words instead of an empty table. */
export function NotAllowed({ text }: { text: string }) {
  return (
    <p role="status" class="not-allowed">
      {text}
    </p>
  );
}

export function State({ value }: { value: string }) {
  return <span class={`state state-${value}`}>{value}</span>;
}

/** The confirmation every delete goes through. */
export function Confirm(props: { id: string; title: string; children?: ComponentChildren; confirm: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div role="alertdialog" aria-modal="true" aria-labelledby={props.id} class="card">
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
      <div class="row">
        <button type="button" class="danger" autoFocus onClick={props.onConfirm}>
          {props.confirm}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
