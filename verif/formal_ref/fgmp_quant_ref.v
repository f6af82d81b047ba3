// Reference FGMP activation-quantizer candidates (SPEC.md §4, docs/fgmp.md §4), for the formal
// proofs of rtl/fgmp/act_quant.py (verif/formal.py). Written from the rules, not from the RTL:
// the RTL divides the significand by 3 and compares against midpoints scaled by M_s; this model
// reuses the midpoint counter of minifloat_encode_ref.v with the divisor folded into the
// midpoints (v / g passes the midpoint M iff v > g * M).
//
// Tensor scale S = 2^k (k signed), element x an FP32 value.
//   FP8 candidate:   q8 = E4M3_rne_sat(x / (6 S)); NaN -> 0x7F with x's sign, +-Inf -> +-448.
//   NVFP4 candidate: q4 = E2M1_rne_sat(x / (s_b S)) with s_b = UE4M3(sc), the block scale code;
//                    sc = 0 gives the code 0; +-Inf -> +-6; the sign of x is kept.

// q8 = E4M3(x / (6 * 2^k)): v = |x| 2^-k passes the E4M3 midpoint M_c (units U = 2^-10) when
// v > 6 M_c, i.e. X * 2^(lsb - k + 10) > 6 n_c.
module fp8_candidate_ref (
    input  [31:0]       x,
    input  signed [8:0] k,
    output reg [7:0]    q8
);
    reg        sign, is_nan, is_inf;
    reg [23:0] X;
    integer    lsb_exp, t;
    wire [7:0] count;

    midpoint_count #(.MB(3), .MAXC(126), .GW(3)) mc (.X(X), .t(t), .g(3'd6), .count(count));

    always @* begin
        sign   = x[31];
        is_nan = (x[30:23] == 8'hFF) && (x[22:0] != 0);
        is_inf = (x[30:23] == 8'hFF) && (x[22:0] == 0);
        if (x[30:23] == 0) begin X = {1'b0, x[22:0]}; lsb_exp = -149; end
        else begin X = {1'b1, x[22:0]}; lsb_exp = x[30:23] - 150; end
        t = lsb_exp - k + 10;
        if (is_nan)      q8 = {sign, 7'h7F};
        else if (is_inf) q8 = {sign, 7'h7E};
        else             q8 = {sign, count[6:0]};
    end
endmodule

// q4 = E2M1(x / (s_b * 2^k)), s_b = UE4M3 code sc = Ms * 2^(es - 9) (Ms the mantissa with its
// hidden bit, es = max(E, 1) - 1 for the exponent field E). v = |x| 2^-k passes the E2M1
// midpoint M_c (units 2^-2) scaled by s_b when v > Ms n_c 2^(es - 11), i.e.
// X * 2^(lsb - k + 11 - es) > Ms n_c.
module fp4_candidate_ref (
    input  [31:0]       x,
    input  signed [8:0] k,
    input  [6:0]        sc,
    output reg [3:0]    q4
);
    reg        sign, is_inf;
    reg [23:0] X;
    reg [3:0]  Ms;
    integer    lsb_exp, t, es;
    wire [7:0] count;

    midpoint_count #(.MB(1), .MAXC(7), .GW(4)) mc (.X(X), .t(t), .g(Ms), .count(count));

    always @* begin
        sign   = x[31];
        is_inf = (x[30:23] == 8'hFF) && (x[22:0] == 0);
        if (x[30:23] == 0) begin X = {1'b0, x[22:0]}; lsb_exp = -149; end
        else begin X = {1'b1, x[22:0]}; lsb_exp = x[30:23] - 150; end
        if (sc[6:3] == 0) begin Ms = {1'b0, sc[2:0]}; es = 0; end
        else begin Ms = {1'b1, sc[2:0]}; es = sc[6:3] - 1; end
        t = lsb_exp - k + 11 - es;
        if (sc == 0)     q4 = 4'd0;
        else if (is_inf) q4 = {sign, 3'd7};
        else             q4 = {sign, count[2:0]};
    end
endmodule

// The FP4/FP8 decision of a block (docs/fgmp.md §4): meta = (I > tau) for the score I and the
// signed 64-bit threshold tau (tau = -1 forces FP8). Here I is given as the two carry-save rows
// the RTL holds, I = s + c (both < 2^62, their sum < 2^62 as I < 2^62 for every block).
module decision_ref (
    input  [61:0]        s,
    input  [61:0]        c,
    input  signed [63:0] tau,
    output               gt,
    output [61:0]        score
);
    wire [63:0] I = {2'b00, s} + {2'b00, c};
    assign score = I[61:0];
    assign gt = $signed(I) > tau;
endmodule
