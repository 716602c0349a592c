<?php
/**
 * Offline verification of the backend's access tokens (EdDSA / Ed25519 JWTs) with PHP's sodium.
 *
 * Only like this: the algorithm is EdDSA and nothing else, the key is the one the token's `kid`
 * names in the backend's key set, the signature is checked before any claim is believed, `iss`
 * is the backend's address, `aud` is article-access, and `exp` is in the future.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Verifier
{
    public const COOKIE = 'access_token';
    public const AUDIENCE = 'article-access';
    private const LEEWAY = 10;  // seconds of clock difference allowed, as the backend allows
    private const MAX_LENGTH = 4096;

    /**
     * The reader's token: `Authorization: Bearer …`, else the access_token cookie; null when none.
     */
    public static function token_from_request(): ?string
    {
        $header = $_SERVER['HTTP_AUTHORIZATION'] ?? $_SERVER['REDIRECT_HTTP_AUTHORIZATION'] ?? '';
        if (is_string($header) && preg_match('/^Bearer\s+([A-Za-z0-9._-]+)\s*$/i', $header, $match)) {
            return $match[1];
        }
        $cookie = $_COOKIE[self::COOKIE] ?? null;  // JWTs hold no characters WordPress would slash
        return is_string($cookie) && $cookie !== '' ? wp_unslash($cookie) : null;
    }

    /**
     * Check a token.
     *
     * @return array{status: 'valid', perks: list<string>, sub: string, exp: int}
     *   |array{status: 'invalid', why: string}
     *   |array{status: 'undecided', why: string} the keys cannot be had now: ask the access API
     */
    public static function verify(string $token, ?int $now = null): array
    {
        $now ??= time();
        if (strlen($token) > self::MAX_LENGTH || substr_count($token, '.') !== 2) {
            return self::invalid('not a JWT');
        }
        [$head64, $body64, $signature64] = explode('.', $token);
        $header = self::json_part($head64);
        $claims = self::json_part($body64);
        $signature = self::base64url_decode($signature64);
        if ($header === null || $claims === null || $signature === null) {
            return self::invalid('malformed');
        }
        if (($header['alg'] ?? null) !== 'EdDSA') {  // never "none", never HS256: the header is the attacker's
            return self::invalid('algorithm not allowed');
        }
        $kid = $header['kid'] ?? null;
        if (!is_string($kid) || $kid === '' || strlen($kid) > 128) {
            return self::invalid('no key id');
        }
        if (($claims['iss'] ?? null) !== Settings::backend_url()) {
            // Someone else's token (another plugin's Bearer, say): not worth a key fetch.
            return self::invalid('another issuer');
        }
        if (strlen($signature) !== SODIUM_CRYPTO_SIGN_BYTES) {
            return self::invalid('bad signature length');
        }
        if (!function_exists('sodium_crypto_sign_verify_detached')) {
            return ['status' => 'undecided', 'why' => 'PHP lacks sodium'];
        }
        $found = KeySet::find($kid);
        if ($found['status'] === 'unavailable') {
            return ['status' => 'undecided', 'why' => 'keys unavailable'];
        }
        if ($found['status'] === 'unknown') {
            return self::invalid('unknown key id');
        }
        try {
            $genuine = sodium_crypto_sign_verify_detached($signature, $head64 . '.' . $body64, $found['key']);
        } catch (\SodiumException) {
            $genuine = false;
        }
        if (!$genuine) {
            return self::invalid('bad signature');
        }
        // From here on the claims are the backend's own words.
        $audience = $claims['aud'] ?? null;
        if (!($audience === self::AUDIENCE || is_array($audience) && in_array(self::AUDIENCE, $audience, true))) {
            return self::invalid('another audience');
        }
        $exp = $claims['exp'] ?? null;
        if (!is_int($exp) || $exp <= $now - self::LEEWAY) {
            return self::invalid('expired');
        }
        $iat = $claims['iat'] ?? null;
        if (!is_int($iat) || $iat > $now + self::LEEWAY) {
            return self::invalid('issued in the future');
        }
        $perks = $claims['perks'] ?? null;
        $sub = $claims['sub'] ?? null;
        if (!is_array($perks) || !array_is_list($perks) || array_filter($perks, 'is_string') !== $perks) {
            return self::invalid('no perks claim');
        }
        if (!is_string($sub) || !preg_match('/^[0-9]{1,18}$/', $sub)) {
            return self::invalid('bad subject');
        }
        return ['status' => 'valid', 'perks' => $perks, 'sub' => $sub, 'exp' => $exp];
    }

    /** base64url without padding (RFC 7515), strictly: null for anything else. */
    public static function base64url_decode(string $text): ?string
    {
        if ($text === '' || !preg_match('/^[A-Za-z0-9_-]+$/', $text)) {
            return $text === '' ? '' : null;
        }
        $decoded = base64_decode(strtr($text, '-_', '+/'), true);
        return $decoded === false ? null : $decoded;
    }

    /** @return array<string, mixed>|null a JSON object, or null */
    private static function json_part(string $part): ?array
    {
        $raw = self::base64url_decode($part);
        if ($raw === null || $raw === '') {
            return null;
        }
        try {
            $value = json_decode($raw, true, 16, JSON_THROW_ON_ERROR);
        } catch (\JsonException) {
            return null;
        }
        return is_array($value) && !array_is_list($value) ? $value : null;
    }

    /** @return array{status: 'invalid', why: string} */
    private static function invalid(string $why): array
    {
        return ['status' => 'invalid', 'why' => $why];
    }
}
