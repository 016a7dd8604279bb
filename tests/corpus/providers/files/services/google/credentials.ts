// rotated by the platform team
export const FIREBASE_API_KEY = `AIzaSyj7_92vDYKk_qlZ_9Xx1LO2jpoTWaoXtz3`;
export const GOOGLE_API_KEY = `AIzaSytHbAz7-8ppAIOPktqRYzPPchTlGLRQTcd`;
export const GEMINI_API_KEY = `AIzaSykrGaSlyk1BLJtsTPWm1qp_rwickaK_-_Z`;
export const GOOGLE_API_KEY_SAMPLE = `AIzaSyabcdefghijklmnopqrstuvwxyz1234567`;
export const GEMINI_API_KEY_SAMPLE = `AIzaSyXGcEaua60XEXAMPLEKIQC5gmPTxRasWxU`;
export const MAPS_API_KEY_SAMPLE = `AIzaSyFpED-R-s4rmfyQKMC4l5fLL0Vgw6aIs`;
export const MAPS_API_KEY_SAMPLE = `AIza***********************************`;
export const FIREBASE_API_KEY_SAMPLE = `<YOUR_API_KEY>`;
