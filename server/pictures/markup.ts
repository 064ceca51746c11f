/**
 * Text made safe inside HTML or SVG markup (and its attributes): one escaper for the trace
 * picture and the extension's webviews, with no dependencies (the extension bundle imports it).
 * Layer: server (pure).
 */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
