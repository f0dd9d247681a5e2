# The features TA-Lib does not have, computed with R's TTR (an independent reference for
# tests/unit/features/ttr_test.cpp):
#   log_return   = ROC(close, type = "continuous")
#   realized_vol = volatility(close, n = window + 1, calc = "close", N = annualization)
#                  (the sample deviation of `window` log returns, times sqrt(N))
#   vwap         = per session, runSum(typical · volume, cumulative) / runSum(volume, cumulative)
# Usage: Rscript ttr_features.R IN.csv OUT.csv WINDOW ANNUALIZATION
# IN has columns high,low,close,volume,session; OUT gets log_return,realized_vol,vwap.
suppressPackageStartupMessages(library(TTR))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
window <- as.integer(args[3])
annualization <- as.numeric(args[4])
log_return <- as.numeric(ROC(d$close, n = 1, type = "continuous"))
realized_vol <- as.numeric(volatility(d$close, n = window + 1, calc = "close", N = annualization))
typical <- (d$high + d$low + d$close) / 3
vwap <- rep(NA_real_, nrow(d))
for (s in unique(d$session)) {
  i <- which(d$session == s)
  pv <- runSum(typical[i] * d$volume[i], n = 1, cumulative = TRUE)
  v <- runSum(d$volume[i], n = 1, cumulative = TRUE)
  vwap[i] <- ifelse(v > 0, pv / v, NA_real_)
}
cells <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
out <- data.frame(log_return = cells(log_return), realized_vol = cells(realized_vol),
                  vwap = cells(vwap))
write.csv(out, args[2], row.names = FALSE, quote = FALSE)
