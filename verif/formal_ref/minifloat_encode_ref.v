// Reference FP32 -> small-float encoder for the formal proofs (verif/formal.py).
//
// Written from SPEC.md §1 and docs/formats.md "Encoding rule", independently of the Amaranth
// encoder (rtl/formats/codec.py): the RTL normalises, shifts and adds a rounding increment; this
// model counts rounding midpoints instead.
//
//   The value encoded is the exact real v = |x| * 2^(SCALE_EXP + scale).
//   Grid: magnitude code c (exponent field E = c >> MB, mantissa f) has the value
//     V(c) = f * 2^(EMIN - MB)                  for E = 0 (subnormal)
//     V(c) = (2^MB + f) * 2^(E - 1 + EMIN - MB)  for E > 0
//   Round to nearest, ties to even:  the code is the number of midpoints
//     M_c = (V(c) + V(c+1)) / 2,  c = 0 .. MAXC - 1,
//   that v has passed, where v passes M_c when v > M_c, or v = M_c and c is odd (a tie between
//   an odd code c and the even code c + 1 goes up to c + 1, a tie between an even c and c + 1
//   stays on c). A value beyond the last midpoint passes all MAXC of them: saturation to MAXC
//   (E4M3: 464 and above -> 448, ties to even at 464 included; E2M1: 5 and above -> 6).
//   Infinity saturates to MAXC; NaN gives NANC (E4M3: 0x7F; E2M1 has no NaN code: 7, i.e. +-6);
//   the sign bit of the input is always the sign bit of the code (signed zero kept).
//
// Arithmetic (module midpoint_count): everything is counted in units U = 2^(EMIN - MB - 1)
// (half the smallest subnormal), where every midpoint is an integer n_c = V(c)/q + V(c+1)/q
// (q = 2^(EMIN - MB)). v / U = X * 2^t, X the FP32 significand as an integer (hidden bit
// included for normal numbers), t = (exponent of X's LSB) + SCALE_EXP + scale - (EMIN - MB - 1).
// The model forms I = floor(v / U) and whether the dropped fraction is non-zero, and compares
// with every g * n_c: g = 1 for a plain encoder; the FGMP quantizer references
// (fgmp_quant_ref.v) divide v by a block scale g * 2^m by comparing v * 2^-m with g * M_c.
// Number of rounding midpoints (ties to even) passed by v = X * 2^t * U, each midpoint scaled
// by g: the RNE magnitude code of v / g, saturated at MAXC (see the header).
module midpoint_count #(
    parameter MB = 3,            // mantissa bits
    parameter MAXC = 126,        // largest finite magnitude code
    parameter GW = 1             // width of the midpoint multiplier g
) (
    input  [23:0]          X,    // significand as an integer (0 for a zero)
    input  signed [31:0]   t,    // v / U = X * 2^t
    input  [GW-1:0]        g,    // midpoints are g * n_c (g >= 1)
    output reg [7:0]       count
);
    // value of magnitude code c in units of q (an integer)
    function integer grid;
        input integer c;
        integer e, f;
        begin
            e = c >> MB;
            f = c % (1 << MB);
            if (e == 0) grid = f;
            else grid = ((1 << MB) + f) << (e - 1);
        end
    endfunction

    reg [63:0] I;                // floor(v / U) (meaningful when not huge)
    reg        frac;             // v / U has a non-zero fraction
    reg        huge;             // v / U >= 2^40: beyond every (scaled) midpoint used here
    reg [63:0] n;                // the scaled midpoint g * n_c
    integer    c;

    always @* begin
        huge = 0;
        frac = 0;
        I = 0;
        if (X == 0) begin
            I = 0;
        end else if (t >= 40) begin
            huge = 1;
        end else if (t >= 0) begin
            I = {40'b0, X} << t;
        end else if (t > -25) begin
            I = {40'b0, X} >> (-t);
            frac = (X & ((24'd1 << (-t)) - 24'd1)) != 0;
        end else begin
            I = 0;                        // X < 2^24 <= 2^-t: only a fraction is left
            frac = 1;
        end
        count = 0;
        for (c = 0; c < MAXC; c = c + 1) begin
            n = g * (grid(c) + grid(c + 1));
            if (huge || I > n || (I == n && frac) || (I == n && !frac && (c % 2 == 1)))
                count = count + 1;
        end
    end
endmodule

module minifloat_encode_ref #(
    parameter MB = 3,            // mantissa bits
    parameter EMIN = -6,         // exponent of the smallest normal (1 - bias)
    parameter MAXC = 126,        // largest finite magnitude code
    parameter NANC = 127,        // magnitude code of a NaN input
    parameter SW = 8,            // width of the signed scale port
    parameter SCALE_EXP = 0,     // constant added to the scale port
    parameter W = 8              // code width (sign bit + magnitude)
) (
    input  [31:0]          i,
    input  signed [SW-1:0] scale,
    output reg [W-1:0]     o
);
    reg        sign, is_nan, is_inf;
    reg [23:0] X;                // significand as an integer
    integer    lsb_exp;          // exponent of X's LSB
    integer    t;
    wire [7:0] count;

    midpoint_count #(.MB(MB), .MAXC(MAXC), .GW(1)) mc (.X(X), .t(t), .g(1'b1), .count(count));

    always @* begin
        sign    = i[31];
        is_nan  = (i[30:23] == 8'hFF) && (i[22:0] != 0);
        is_inf  = (i[30:23] == 8'hFF) && (i[22:0] == 0);
        if (i[30:23] == 0) begin          // zero or FP32 subnormal: 0.frac * 2^-126
            X = {1'b0, i[22:0]};
            lsb_exp = -149;
        end else begin                    // normal: 1.frac * 2^(exp - 127)
            X = {1'b1, i[22:0]};
            lsb_exp = i[30:23] - 150;
        end
        t = lsb_exp + SCALE_EXP + scale - (EMIN - MB - 1);
        if (is_nan)
            o = {sign, NANC[W-2:0]};
        else if (is_inf)
            o = {sign, MAXC[W-2:0]};
        else
            o = {sign, count[W-2:0]};
    end
endmodule
