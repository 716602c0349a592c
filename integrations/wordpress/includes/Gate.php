<?php
/**
 * The cut: a members-only post's body is cut on the server for readers who may not read it, and a
 * "Become a member" box follows what they may see. Nothing of the rest reaches their browser, the
 * REST API or a feed.
 *
 * Who may read: editors of the post; readers whose access token (cookie or Bearer), verified
 * offline, lists the perk the post needs. When the token cannot be verified offline (the keys
 * cannot be had, or a key id is new and a fetch is not allowed yet) the access API decides.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Gate
{
    /** @var array<int, array{gated: bool, allowed: bool, reader: string}> decisions of this request */
    private static array $decisions = [];
    /** @var array<int, array{gated: bool, allowed: bool, reader: string}> posts cut, awaiting their box */
    private static array $pending = [];
    private static string $assets = '';

    public static function register(string $assets_url): void
    {
        self::$assets = $assets_url;
        add_filter('the_content', [self::class, 'cut'], 0);  // before blocks, shortcodes and wpautop
        add_filter('the_content', [self::class, 'append_box'], 1000);
        add_action('template_redirect', [self::class, 'send_headers']);
        add_action('wp_enqueue_scripts', [self::class, 'styles']);
    }

    /**
     * May this request read the whole post?
     *
     * @return array{gated: bool, allowed: bool, reader: string} reader: open, editor, member,
     *   signed-in (a valid token without the perk) or anonymous
     */
    public static function decide(\WP_Post $post): array
    {
        if (isset(self::$decisions[$post->ID])) {
            return self::$decisions[$post->ID];
        }
        $open = ['gated' => false, 'allowed' => true, 'reader' => 'open'];
        if (!self::may_be_gated($post)) {
            return self::$decisions[$post->ID] = $open;
        }
        if (current_user_can('edit_post', $post->ID)) {  // its editors read it whole, unasked
            return self::$decisions[$post->ID] = ['gated' => false, 'allowed' => true, 'reader' => 'editor'];
        }
        $perk = Rules::requirement($post)['perk'];
        if ($perk === null) {  // open by the rules, or the backend never answered
            return self::$decisions[$post->ID] = $open;
        }
        $token = Verifier::token_from_request();
        $perks = null;
        if ($token !== null) {
            $verdict = Verifier::verify($token);
            if ($verdict['status'] === 'valid') {
                $perks = $verdict['perks'];
            } elseif ($verdict['status'] === 'undecided') {
                $perks = self::ask_with_token($post, $token);
            }
        }
        $decision = match (true) {
            $perks === null => ['gated' => true, 'allowed' => false, 'reader' => 'anonymous'],
            in_array($perk, $perks, true) => ['gated' => true, 'allowed' => true, 'reader' => 'member'],
            default => ['gated' => true, 'allowed' => false, 'reader' => 'signed-in'],
        };
        return self::$decisions[$post->ID] = $decision;
    }

    /** the_content, first: a post the reader may not read becomes its free part. */
    public static function cut(string $content): string
    {
        $post = get_post();
        if (!$post instanceof \WP_Post) {
            return $content;
        }
        $decision = self::decide($post);
        if ($decision['allowed']) {
            return $content;
        }
        self::$pending[$post->ID] = $decision;
        return self::teaser($post);
    }

    /** the_content, last: the box after a cut post (not inside an excerpt). */
    public static function append_box(string $content): string
    {
        $post = get_post();
        if (!$post instanceof \WP_Post || !isset(self::$pending[$post->ID])) {
            return $content;
        }
        $decision = self::$pending[$post->ID];
        unset(self::$pending[$post->ID]);
        if (doing_filter('get_the_excerpt') || doing_filter('wp_trim_excerpt')) {
            return $content;
        }
        return $content . self::box($post, $decision);
    }

    /**
     * What everyone may read of a members-only post: what comes before its More block (or
     * <!--more-->), else its first paragraphs (blocks) as the settings say, always keeping the
     * last one back.
     */
    public static function teaser(\WP_Post $post): string
    {
        $source = (string) preg_replace('/<!--nextpage-->.*/s', '', $post->post_content);
        if (preg_match('/<!--more(.*?)?-->/', $source, $match, PREG_OFFSET_CAPTURE)) {
            $free = substr($source, 0, $match[0][1]);
            return (string) preg_replace('/<!--\s*wp:more\b[^>]*-->\s*$/', '', rtrim($free));
        }
        $count = Settings::teaser_paragraphs();
        if (has_blocks($source)) {
            $blocks = array_values(array_filter(
                parse_blocks($source),
                static fn (array $block) => $block['blockName'] !== null || trim((string) $block['innerHTML']) !== ''
            ));
            return serialize_blocks(array_slice($blocks, 0, max(0, min($count, count($blocks) - 1))));
        }
        $paragraphs = preg_split('/\n\s*\n/', trim($source)) ?: [];
        // A short post keeps at least its last paragraph for those who may read it.
        return implode("\n\n", array_slice($paragraphs, 0, max(0, min($count, count($paragraphs) - 1))));
    }

    /** The "Become a member" box: a link to the backend's plans with this article as `ref`. */
    public static function box(\WP_Post $post, array $decision): string
    {
        $base = Settings::backend_url();
        $ref = substr(Rules::article_ref($post), 0, 200);  // the backend keeps 200 characters of it
        $plans = $base . '/plans?ref=' . rawurlencode($ref);
        $html = '<aside class="membership-access-box" aria-labelledby="membership-access-box-' . (int) $post->ID . '">';
        $html .= '<p class="membership-access-box__title" id="membership-access-box-' . (int) $post->ID . '">'
            . esc_html__('This article is for members.', TEXT_DOMAIN) . '</p>';
        $html .= '<p>' . esc_html($decision['reader'] === 'signed-in'
            ? __('Your membership does not include this article.', TEXT_DOMAIN)
            : __('Members read every article in full, and keep our journalism independent.', TEXT_DOMAIN)) . '</p>';
        $html .= '<p><a class="membership-access-box__join wp-element-button" href="' . esc_url($plans) . '">'
            . esc_html__('Become a member', TEXT_DOMAIN) . '</a></p>';
        if ($decision['reader'] === 'anonymous') {
            $html .= '<p class="membership-access-box__signin">' . esc_html__('Already a member?', TEXT_DOMAIN)
                . ' <a href="' . esc_url($base . '/login') . '">' . esc_html__('Sign in', TEXT_DOMAIN) . '</a></p>';
        }
        $html .= '</aside>';
        return (string) apply_filters('membership_access_box', $html, $post, $decision);
    }

    /**
     * A members-only page depends on who asks: caches must key it on the cookie, and a page
     * shown whole thanks to a token must not be stored by shared caches at all.
     */
    public static function send_headers(): void
    {
        if (!is_singular()) {
            return;
        }
        $post = get_queried_object();
        if (!$post instanceof \WP_Post || !self::may_be_gated($post) || Rules::requirement($post)['perk'] === null) {
            return;
        }
        header('Vary: Cookie, Authorization', false);
        if (Verifier::token_from_request() !== null || is_user_logged_in()) {
            header('Cache-Control: private, no-cache');
        }
    }

    /** Published posts of the gated types, without a password of their own, may need a perk. */
    private static function may_be_gated(\WP_Post $post): bool
    {
        $types = (array) apply_filters('membership_access_post_types', ['post']);
        return in_array($post->post_type, $types, true)
            && $post->post_status === 'publish'  // drafts are not the readers' to see at all
            && !post_password_required($post);
    }

    public static function styles(): void
    {
        wp_enqueue_style('membership-access', self::$assets . 'assets/membership-access.css', [], VERSION);
    }

    /**
     * The access API's word on a token we could not verify offline: the reader's perks, or null
     * when the token is refused or the backend cannot say.
     *
     * @return list<string>|null
     */
    private static function ask_with_token(\WP_Post $post, string $token): ?array
    {
        // Bearer alone: with an X-API-Key the backend would answer about the key, not the reader.
        $answer = Backend::get(
            '/api/v1/access',
            ['article' => Rules::article_ref($post), 'tag' => Rules::tags($post), 'peek' => '1'],
            false,
            ['Authorization' => 'Bearer ' . $token]
        );
        if ($answer === null || $answer['status'] !== 200 || !is_array($answer['body']['perks'] ?? null)) {
            if ($answer !== null && $answer['status'] !== 401) {
                Backend::problem('the access API answered ' . $answer['status'] . ' to a token');
            }
            return null;
        }
        return array_values(array_filter($answer['body']['perks'], 'is_string'));
    }
}
