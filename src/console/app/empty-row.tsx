/** The one row of an empty table, saying what is missing, so an empty table never looks like one still loading. */
export function EmptyRow({ columns, text }: { columns: number; text: string }) {
  return (
    <tr class="empty">
      <td colSpan={columns} class="hint">{text}</td>
    </tr>
  );
}
