// Reference small-float -> FP32 decoder for the formal proofs (verif/formal.py).
//
// Written from SPEC.md §1 and docs/formats.md ("Decoding is exact ... A NaN code decodes to the
// FP32 quiet NaN 0x7FC00000 with the code's sign"), independently of the Amaranth decoder
// (rtl/formats/codec.py, which rebiases the exponent field and tabulates the subnormals):
// this model turns the code into an integer count N of the smallest subnormal q = 2^(EMIN - MB)
// and converts that integer to FP32 with a leading-one search, as an int-to-float unit would.
//
//   magnitude code c, exponent field E = c >> MB, mantissa f:
//     N = f                      for E = 0
//     N = (2^MB + f) << (E - 1)  for E > 0          value = N * q (exact)
//   N = 0: a zero with the code's sign. N > 0 with leading one at bit p: FP32 exponent field
//   p + (EMIN - MB) + 127 (always normal: these formats lie far inside FP32's normal range),
//   fraction = the bits of N below p, left-aligned in 23 bits.
//   NaN codes (magnitude NANC, if the format has one; E4M3: 0x7F): 0x7FC00000 with the sign.
module minifloat_decode_ref #(
    parameter MB = 3,            // mantissa bits
    parameter EMIN = -6,         // exponent of the smallest normal (1 - bias)
    parameter HAS_NAN = 1,       // the format has a NaN code
    parameter NANC = 127,        // its magnitude code
    parameter W = 8              // code width (sign bit + magnitude)
) (
    input  [W-1:0]  i,
    output reg [31:0] o
);
    reg        sign;
    integer    c, e, f, p, k;
    reg [31:0] N;
    reg [22:0] fraction;
    reg [7:0]  expo;

    always @* begin
        sign = i[W-1];
        c = i[W-2:0];
        e = c >> MB;
        f = c % (1 << MB);
        if (e == 0) N = f;
        else N = ((1 << MB) + f) << (e - 1);
        // leading one of N (N < 2^31 for these formats)
        p = 0;
        for (k = 0; k < 31; k = k + 1)
            if (N[k]) p = k;
        expo = p + (EMIN - MB) + 127;
        fraction = (N << (23 - p));       // drops the leading one (bit 23 and above)
        if (HAS_NAN && c == NANC)
            o = {sign, 31'h7FC00000};
        else if (N == 0)
            o = {sign, 31'b0};
        else
            o = {sign, expo, fraction};
    end
endmodule
