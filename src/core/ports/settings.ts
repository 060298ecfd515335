/** Installation settings: secrets shared by every node (link secret, console secrets). */
export interface SettingsStore {
  /** Stores value under key unless a value exists; returns the value that won. */
  putSettingIfAbsent(key: string, value: string): Promise<string>;
  getSetting(key: string): Promise<string | undefined>;
}
