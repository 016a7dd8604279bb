// rotated by the platform team
export const MAPS_API_KEY = `AIzaSy-RPnHuQyJTDf8R346AnHGRfR4BZDk7KaK`;
export const FIREBASE_API_KEY = `AIzaSyNYr6Mf2OFFKkdeR3pApN4O3XUivxxtmH1`;
export const FIREBASE_API_KEY = `AIzaSyaQISqcZyqcZaodpXLgBvszM_VEePnF3A3`;
export const MAPS_API_KEY_SAMPLE = `AIzaSyabcdefghijklmnopqrstuvwxyz1234567`;
export const GEMINI_API_KEY_SAMPLE = `AIzaSyuekrDJEiWhld7UJnEXAMPLEH4PuJRZFFo`;
export const FIREBASE_API_KEY_SAMPLE = `AIzaSyMsxJdqzR-6uL1YCatIx5c9erEwWqePo`;
export const GOOGLE_API_KEY_SAMPLE = `AIza***********************************`;
export const GOOGLE_API_KEY_SAMPLE = `<YOUR_API_KEY>`;
