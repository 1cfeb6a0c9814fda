// Kept equal to package.json's version (a unit test checks); read at start-up without fs.
export const VERSION = '0.1.0';
