/** What a run costs: a price per joule of measured energy and per second the board was busy running it (gateway config `green.price`). */
export interface Price { readonly perJoule: number, readonly perBoardSecond: number }

export const FREE: Price = Object.freeze({ perJoule: 0, perBoardSecond: 0 })

/** Carbon (mg CO2) of `energyMj` at `gPerKwh`: mJ → kWh is ÷ 3.6e9, g → mg × 1000. */
export const carbonMg = (energyMj: number, gPerKwh: number): number => energyMj * gPerKwh / 3.6e6

/** Cost of a run: energy (J) × price per joule + run time (s) × price per board-second. */
export const runCost = (energyMj: number, runMs: number, p: Price): number => energyMj / 1000 * p.perJoule + runMs / 1000 * p.perBoardSecond

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d
export const receiptFigures = (energyMj: number, runMs: number, gPerKwh: number, p: Price): { carbon_mg: number, cost: number } =>
  ({ carbon_mg: round(carbonMg(energyMj, gPerKwh), 6), cost: round(runCost(energyMj, runMs, p), 9) })
